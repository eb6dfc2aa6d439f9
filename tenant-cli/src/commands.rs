//! What each subcommand does.

use std::process::ExitCode;
use std::time::Duration;

use akash_chain_client::akash_types::market::LeaseState;
use akash_chain_client::MarketChain;
use anyhow::{bail, Context, Result};

use akash_provider::gateway::api::{codes, LeaseStatus};
use akash_provider::gateway::ClientError;
use akash_provider::runtime::{ContainerState, LogLine, LogStream};

use crate::connect::Session;
use crate::deploy::{self, DeployOptions, DeployReport, PrintProgress};
use crate::gateway;
use crate::listings;
use crate::output::{self, Table};
use crate::sdl::SdlFile;
use crate::{Cli, Command, WaitArgs};

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate { file } => Ok(validate(&file)),
        Command::Deploy { file, wait } => {
            let sdl = load_sdl(&file)?;
            let session = cli.chain.connect().await?;
            deploy_sdl(&session, &sdl, &wait).await
        }
        Command::Status { lease } => {
            let session = cli.chain.connect().await?;
            status(&session, lease).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Logs {
            lease,
            service,
            tail,
        } => {
            let session = cli.chain.connect().await?;
            logs(&session, lease, service.as_deref(), tail).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Close { lease, reason } => {
            let session = cli.chain.connect().await?;
            close(session.chain.as_ref(), lease, reason).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Orders { all, state } => {
            let session = cli.chain.connect().await?;
            let chain = session.chain.as_ref();
            print!("{}", orders(chain, all, state.map(Into::into)).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Sandbox(args) => crate::sandbox::run(args).await,
        Command::Leases { provider } => {
            let session = cli.chain.connect().await?;
            print!(
                "{}",
                leases(session.chain.as_ref(), provider.as_deref()).await?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `akash validate`: the description on stdout and exit 0, or the error on stderr and exit 1.
pub fn validate(file: &std::path::Path) -> ExitCode {
    match SdlFile::load(file) {
        Ok(sdl) => {
            print!("{}", sdl.describe());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn load_sdl(file: &std::path::Path) -> Result<SdlFile> {
    // The error's own text names the file, line, column and key path.
    SdlFile::load(file).map_err(|error| anyhow::anyhow!("{error}"))
}

/// The deployment options of `deploy` and `sandbox`.
pub fn deploy_options(wait: &WaitArgs) -> DeployOptions {
    DeployOptions {
        match_grace: Duration::from_secs(wait.match_timeout),
        ready_timeout: Duration::from_secs(wait.ready_timeout),
        ..DeployOptions::default()
    }
}

/// `akash deploy`.
pub async fn deploy_sdl(session: &Session, sdl: &SdlFile, wait: &WaitArgs) -> Result<ExitCode> {
    let chain = session.chain.as_ref();
    println!(
        "deploying {} as {}: {} placement group(s), {} in escrow",
        sdl.path.display(),
        chain.address(),
        sdl.groups().len(),
        output::amount(sdl.total_escrow())
    );
    let report = deploy::deploy(
        chain,
        &session.key,
        sdl,
        &PrintProgress,
        &deploy_options(wait),
    )
    .await?;
    print!("{}", deploy_summary(&report));
    Ok(if report.all_running() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The closing lines of a deployment: leases, endpoints, what failed.
pub fn deploy_summary(report: &DeployReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let leases: Vec<String> = report.leases().iter().map(|l| l.id.to_string()).collect();
    if !leases.is_empty() {
        let _ = writeln!(out, "\nleases: {}", leases.join(", "));
    }
    let endpoints = report.endpoints();
    if !endpoints.is_empty() {
        let _ = writeln!(out, "endpoints:");
        for endpoint in &endpoints {
            let _ = writeln!(out, "  {}: {}", endpoint.service, endpoint.url);
        }
    }
    for group in &report.groups {
        if group.lease().is_none() {
            let _ = writeln!(
                out,
                "group {} was not leased (order {}): nothing deployed for it",
                group.group.name(),
                group.order.id
            );
        }
    }
    if !report.all_leased() && !leases.is_empty() {
        let _ = writeln!(
            out,
            "the other leases keep running: close them with `akash close LEASE` if the \
             deployment is useless without the missing groups"
        );
    }
    out
}

/// `akash orders`.
pub async fn orders(
    chain: &dyn MarketChain,
    all: bool,
    state: Option<akash_types::market::OrderState>,
) -> Result<String> {
    let now = chain.block_time().await?;
    let mut orders = listings::all_orders(chain, state).await?;
    if !all {
        orders.retain(|o| o.tenant.as_str() == chain.address());
    }
    Ok(listings::orders_table(&orders, now, all))
}

/// `akash leases`.
pub async fn leases(chain: &dyn MarketChain, provider: Option<&str>) -> Result<String> {
    let now = chain.block_time().await?;
    let leases = match provider {
        Some(provider) => listings::provider_leases(chain, provider).await?,
        None => listings::tenant_leases(chain, chain.address()).await?,
    };
    Ok(listings::leases_table(&leases, now))
}

/// `akash status`: the lease on chain, its balance, and its containers as its provider
/// reports them.
pub async fn status(session: &Session, lease_id: u64) -> Result<()> {
    let chain = session.chain.as_ref();
    print!("{}", lease_summary(chain, lease_id).await?);
    if chain.lease(lease_id).await?.state == LeaseState::Active {
        print!("{}", provider_status(session, lease_id).await?);
    }
    Ok(())
}

/// The containers of a lease, from its provider's gateway.
pub async fn provider_status(session: &Session, lease_id: u64) -> Result<String> {
    let chain = session.chain.as_ref();
    let lease = chain
        .lease(lease_id)
        .await
        .with_context(|| format!("reading lease {lease_id}"))?;
    let (client, gateway) = gateway::client_for(chain, &lease).await?;
    match client.status(lease_id, session.key.signing_key()).await {
        Ok(status) => Ok(containers_table(&status, &gateway)),
        Err(ClientError::Refused { error, reason, .. }) if error == codes::NOT_DEPLOYED => {
            Ok(format!("  containers ({gateway}): none yet ({reason})\n"))
        }
        Err(error) => Err(error).with_context(|| format!("asking {gateway} for lease {lease_id}")),
    }
}

/// The provider's view of a lease's containers.
pub fn containers_table(status: &LeaseStatus, gateway: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  containers ({gateway}): {}",
        deploy::deployment_state_name(status.state)
    );
    let mut table = Table::new(["SERVICE", "INSTANCE", "STATE", "RESTARTS", "ENDPOINTS"]);
    for service in &status.services {
        for instance in &service.instances {
            let state = match instance.state.exit_code() {
                Some(code) => format!("{} (exit {code})", container_state_name(&instance.state)),
                None => container_state_name(&instance.state).to_string(),
            };
            let endpoints: Vec<String> = service
                .endpoints
                .iter()
                .filter(|e| e.instance == instance.instance)
                .map(|e| format!("{} -> {}", e.container_port, e.url))
                .collect();
            table.row([
                service.name.clone(),
                instance.instance.to_string(),
                if instance.oom_killed {
                    format!("{state}, OOM-killed")
                } else {
                    state
                },
                instance.restart_count.to_string(),
                endpoints.join(", "),
            ]);
        }
    }
    for line in table.render().lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

fn container_state_name(state: &ContainerState) -> &str {
    match state {
        ContainerState::Created => "created",
        ContainerState::Running => "running",
        ContainerState::Paused => "paused",
        ContainerState::Restarting { .. } => "restarting",
        ContainerState::Exited { .. } => "exited",
        ContainerState::Dead { .. } => "dead",
        ContainerState::Removing => "removing",
        ContainerState::Unknown { docker_state } => docker_state,
    }
}

/// `akash logs`: the last lines of one service, or of every service of the lease; stderr
/// lines go to stderr. With several services or instances, lines are labelled
/// `service-instance | `.
pub async fn logs(
    session: &Session,
    lease_id: u64,
    service: Option<&str>,
    tail: usize,
) -> Result<()> {
    let lines = fetch_logs(session, lease_id, service, tail).await?;
    let sources: std::collections::BTreeSet<(&str, u32)> = lines
        .iter()
        .map(|(service, line)| (service.as_str(), line.instance))
        .collect();
    for (service, line) in &lines {
        let label = if sources.len() > 1 {
            format!("{service}-{} | ", line.instance)
        } else {
            String::new()
        };
        match line.stream {
            LogStream::Stdout => println!("{label}{}", line.line),
            LogStream::Stderr => eprintln!("{label}{}", line.line),
        }
    }
    Ok(())
}

/// The last `tail` lines of each instance of `service` (or of every service), with the
/// service's name.
pub async fn fetch_logs(
    session: &Session,
    lease_id: u64,
    service: Option<&str>,
    tail: usize,
) -> Result<Vec<(String, LogLine)>> {
    let chain = session.chain.as_ref();
    let lease = chain
        .lease(lease_id)
        .await
        .with_context(|| format!("reading lease {lease_id}"))?;
    let (client, gateway) = gateway::client_for(chain, &lease).await?;
    let key = session.key.signing_key();
    let services = match service {
        Some(service) => vec![service.to_string()],
        None => client
            .status(lease_id, key)
            .await
            .with_context(|| format!("asking {gateway} for the services of lease {lease_id}"))?
            .services
            .into_iter()
            .map(|s| s.name)
            .collect(),
    };
    let mut lines = Vec::new();
    for service in services {
        let logs = client
            .logs(lease_id, &service, tail, key)
            .await
            .with_context(|| format!("asking {gateway} for the logs of service {service}"))?;
        lines.extend(logs.lines.into_iter().map(|line| (service.clone(), line)));
    }
    Ok(lines)
}

/// The chain's view of a lease, as printed by `status`.
pub async fn lease_summary(chain: &dyn MarketChain, lease_id: u64) -> Result<String> {
    use std::fmt::Write as _;
    let lease = chain
        .lease(lease_id)
        .await
        .with_context(|| format!("reading lease {lease_id}"))?;
    let now = chain.block_time().await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lease {} (order {}): {}",
        lease.id,
        lease.order_id,
        listings::lease_state(&lease.state)
    );
    let _ = writeln!(out, "  tenant    {}", lease.tenant);
    let _ = writeln!(out, "  provider  {}", lease.provider);
    let _ = writeln!(out, "  price     {}", output::rate(lease.price_per_second));
    let _ = writeln!(
        out,
        "  started   {} ({})",
        output::utc(lease.started_at),
        output::relative(lease.started_at, now)
    );
    let _ = writeln!(
        out,
        "  ends      {} ({})",
        output::utc(lease.ends_at),
        output::relative(lease.ends_at, now)
    );
    if let Some(closed) = lease.closed_at {
        let _ = writeln!(
            out,
            "  closed    {} ({}){}",
            output::utc(closed),
            output::relative(closed, now),
            lease
                .close_reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        out,
        "  manifest  sha256 {} (version {})",
        lease.manifest_sha256, lease.manifest_version
    );
    if lease.state == LeaseState::Active {
        let balance = chain
            .lease_balance(lease_id)
            .await
            .with_context(|| format!("reading the balance of lease {lease_id}"))?;
        let _ = writeln!(
            out,
            "  escrow    {} (provider may withdraw {}, tenant would get back {})",
            output::amount(balance.escrow),
            output::amount(balance.provider_withdrawable),
            output::amount(balance.tenant_refundable)
        );
    }
    let _ = writeln!(out, "  withdrawn {}", output::amount(lease.withdrawn));
    Ok(out)
}

/// `akash close`: closes the lease and prints what came back.
pub async fn close(chain: &dyn MarketChain, lease_id: u64, reason: Option<String>) -> Result<()> {
    let lease = chain
        .lease(lease_id)
        .await
        .with_context(|| format!("reading lease {lease_id}"))?;
    if lease.tenant.as_str() != chain.address() {
        bail!(
            "lease {lease_id} belongs to tenant {}, not to {}",
            lease.tenant,
            chain.address()
        );
    }
    if lease.state != LeaseState::Active {
        bail!(
            "lease {lease_id} is already {}",
            listings::lease_state(&lease.state)
        );
    }
    let before = chain.token_balance(chain.address()).await?;
    chain
        .close_lease(lease_id, reason)
        .await
        .with_context(|| format!("closing lease {lease_id}"))?;
    let after = chain.token_balance(chain.address()).await?;
    println!(
        "lease {lease_id} closed: {} returned to {}",
        output::amount(after.saturating_sub(before)),
        chain.address()
    );
    Ok(())
}
