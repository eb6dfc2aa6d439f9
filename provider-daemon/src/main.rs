//! `akash-provider`: the provider daemon's command line. `run` serves leases until Ctrl-C or
//! SIGTERM; `register` registers (or updates) the provider on chain and stakes.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use akash_chain_client::Uint128;
use akash_provider::config::ProviderConfig;
use akash_provider::daemon;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(name = "akash-provider", version, about = "AKASH provider daemon")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Bid on orders, deploy won leases, withdraw earnings; until Ctrl-C or SIGTERM.
    Run {
        /// The TOML configuration (see examples/provider.toml).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Register the provider (host URI, attributes, the root certificate kept in data_dir,
    /// generated on first use) or update its registration, then stake.
    Register {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// AKASH base units to stake (0: none).
        #[arg(long, value_name = "AMOUNT")]
        stake: u128,
    },
}

fn load_config(path: &Path) -> Result<ProviderConfig> {
    ProviderConfig::load(path).with_context(|| format!("loading {}", path.display()))
}

#[tokio::main]
async fn main() -> Result<()> {
    // Logs on stderr (stdout carries `register`'s result line, which scripts read), coloured
    // only on a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match Cli::parse().command {
        Command::Run { config } => {
            let config = load_config(&config)?;
            daemon::run(config).await.context("provider daemon")?;
        }
        Command::Register { config, stake } => {
            let config = load_config(&config)?;
            let registration = daemon::register_and_stake(&config, Uint128::new(stake))
                .await
                .context("registration")?;
            println!(
                "{} {} (stake {})",
                registration.address,
                if registration.newly_registered {
                    "registered"
                } else {
                    "registration updated"
                },
                registration.stake
            );
        }
    }
    Ok(())
}
