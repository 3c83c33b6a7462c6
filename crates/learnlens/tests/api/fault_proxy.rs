//! A small TCP fault proxy for tests: sits between a client and a server and passes,
//! refuses, blackholes or delays connections, switchable at run time.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
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
    mode: Arc<Mutex<Mode>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let mode = Arc::new(Mutex::new(Mode::Pass));
        let current = mode.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mode = *current.lock().expect("mode");
                tokio::spawn(async move {
                    match mode {
                        Mode::Refuse => drop(inbound),
                        Mode::Blackhole => {
                            let mut sink = [0u8; 1024];
                            while matches!(inbound.read(&mut sink).await, Ok(n) if n > 0) {}
                        }
                        Mode::Pass | Mode::Delay(_) => {
                            if let Mode::Delay(d) = mode {
                                tokio::time::sleep(d).await;
                            }
                            if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        }
                    }
                });
            }
        });
        FaultProxy { addr, mode, task }
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
