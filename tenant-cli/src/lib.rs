//! `akash`, the tenant command line of the AKASH marketplace.
//!
//! - `validate FILE`: parse an SDL file; print its placement groups, each group's manifest
//!   hash, order and escrow; errors name `FILE:LINE:COL` and the key path (exit 1).
//! - `deploy FILE`: one order per placement group with its escrow, the wait for matches
//!   (bids, window, match or expiry), and the manifests sent to the providers.
//! - `status LEASE`, `logs LEASE`, `close LEASE`, `orders`, `leases`.
//! - `sandbox FILE`: the whole marketplace in one process (embedded chain, provider daemons,
//!   the local Docker engine) with `FILE` deployed on it.
//!
//! Against a wasmd chain: contracts and node from the deployment JSON of
//! `scripts/deploy.sh`, the tenant's key from `--key-file`.

#![forbid(unsafe_code)]

pub mod commands;
pub mod connect;
pub mod deploy;
pub mod gateway;
pub mod keys;
pub mod listings;
pub mod output;
pub mod sandbox;
pub mod sdl;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use connect::ChainArgs;

#[derive(Debug, Parser)]
#[command(
    name = "akash",
    version,
    about = "Tenant command line of the AKASH marketplace",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(
        flatten,
        next_help_heading = "Chain options (wasmd; validate and sandbox use none)"
    )]
    pub chain: ChainArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an SDL file and show what it would order: groups, manifest hashes, orders, escrow.
    Validate {
        /// The SDL file (Akash SDL 2.0).
        file: PathBuf,
    },
    /// Order every placement group of an SDL file, wait for the matches, send each provider
    /// its manifest and wait until the workloads run.
    Deploy {
        file: PathBuf,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Show a lease: chain state, balance and (from its provider) its containers and
    /// endpoints.
    Status { lease: u64 },
    /// Show the logs of a lease's services (from its provider).
    Logs {
        lease: u64,
        /// Only this service (default: every service of the lease).
        #[arg(long)]
        service: Option<String>,
        /// Lines per instance.
        #[arg(long, default_value_t = 100)]
        tail: usize,
    },
    /// Close a lease early: the provider keeps what accrued, the rest comes back.
    Close {
        lease: u64,
        /// Reason recorded on chain.
        #[arg(long)]
        reason: Option<String>,
    },
    /// List orders (yours unless --all).
    Orders {
        /// Every tenant's orders.
        #[arg(long)]
        all: bool,
        /// Only orders in this state.
        #[arg(long, value_enum)]
        state: Option<OrderStateArg>,
    },
    /// List your leases (or a provider's with --provider).
    Leases {
        /// The leases of this provider instead.
        #[arg(long, value_name = "ADDRESS")]
        provider: Option<String>,
    },
    /// Run the whole marketplace on this machine and deploy an SDL file on it.
    ///
    /// An embedded chain with the real contracts, two or three provider daemons with TLS
    /// gateways on 127.0.0.1, the local Docker engine. Prints each step and the URL; Ctrl-C
    /// closes the leases, removes the containers and exits.
    Sandbox(sandbox::SandboxArgs),
}

/// How long `deploy` waits.
#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    /// Seconds an order may stay unmatched after its bid window closed.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub match_timeout: u64,
    /// Seconds to wait for the workloads to run after the manifests were sent.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub ready_timeout: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OrderStateArg {
    Open,
    Matched,
    Expired,
    Cancelled,
}

impl From<OrderStateArg> for akash_types::market::OrderState {
    fn from(state: OrderStateArg) -> Self {
        use akash_types::market::OrderState;
        match state {
            OrderStateArg::Open => OrderState::Open,
            OrderStateArg::Matched => OrderState::Matched,
            OrderStateArg::Expired => OrderState::Expired,
            OrderStateArg::Cancelled => OrderState::Cancelled,
        }
    }
}

/// Runs the command line; the process's exit code.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // The sandbox's provider daemons log through tracing: warnings and errors by default.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
