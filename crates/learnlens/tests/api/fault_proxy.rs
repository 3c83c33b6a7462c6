//! A small TCP fault proxy for tests: sits between a client and a server and passes,
//! refuses, blackholes or delays connections, switchable at run time. Switching the mode
//! cuts every open connection, as a source going down does, so pooled keep-alive connections
//! meet the new mode too.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Accept and close at once: the client sees the connection die.
    Refuse,
    /// Accept and never answer: the client waits until its own timeout.
    Blackhole,
    /// Forward after a pause.
    Delay(Duration),
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: tokio::sync::watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let (mode, current) = tokio::sync::watch::channel(Mode::Pass);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut changed = current.clone();
                let mode = *changed.borrow_and_update();
                tokio::spawn(async move {
                    let cut = async move {
                        let _ = changed.changed().await;
                    };
                    tokio::pin!(cut);
                    match mode {
                        Mode::Refuse => drop(inbound),
                        Mode::Blackhole => {
                            let mut sink = [0u8; 1024];
                            let drain = async {
                                while matches!(inbound.read(&mut sink).await, Ok(n) if n > 0) {}
                            };
                            tokio::select! { () = drain => {}, () = &mut cut => {} }
                        }
                        Mode::Pass | Mode::Delay(_) => {
                            if let Mode::Delay(d) = mode {
                                tokio::time::sleep(d).await;
                            }
                            if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                                tokio::select! {
                                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                    () = &mut cut => {}
                                }
                            }
                        }
                    }
                });
            }
        });
        FaultProxy { addr, mode, task }
    }

    /// Switches the mode for new connections and cuts the open ones.
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
