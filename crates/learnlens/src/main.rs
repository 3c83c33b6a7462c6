//! The `learnlens` binary: parse the command line, load configuration, start logging, hand over
//! to the library.

use clap::Parser;
use learnlens::cli::{self, Cli, Command};

/// mimalloc rather than glibc's malloc: with an organisation computed in chunks it lowers the
/// batch's and the workers' peak memory (docs/decisions.md, "The allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Cli::parse();
    // Needs no configuration, and nothing else may write to standard output.
    if let Some(Command::Dataset { spec, summary }) = args.command {
        return cli::dataset(spec, summary, std::io::stdout().lock());
    }
    let config = args.load_config()?;
    // Prints JSON on standard output, where the logs would go too: no logging.
    if let Some(Command::Analytics(analytics)) = &args.command {
        return cli::analytics(&config, analytics);
    }
    learnlens::telemetry::init_logging(config.env);
    match args.command.take().unwrap_or(Command::Serve) {
        Command::Serve => cli::serve(config).await,
        Command::Worker => cli::worker(config).await,
        Command::Batch(args) => cli::batch(config, args).await,
        Command::Sources { dataset } => cli::sources(config, dataset).await,
        command => cli::run_admin(config, command).await,
    }
}
