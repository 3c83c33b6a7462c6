//! The `learnlens` binary: parse the command line, load configuration, start logging, hand over
//! to the library.

use clap::Parser;
use learnlens::cli::{self, Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Cli::parse();
    let config = args.load_config()?;
    learnlens::telemetry::init_logging(config.env);
    match args.command.take().unwrap_or(Command::Serve) {
        Command::Serve => cli::serve(config).await,
        Command::Analytics(args) => cli::analytics(&config, &args),
        command => cli::run_admin(config, command).await,
    }
}
