//! Reading an SDL file and describing what it orders (`akash validate`).

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use akash_chain_client::Uint128;
use akash_manifest::{parse_sdl, PlacementGroup, Sdl, SdlError};

use crate::output;

/// An SDL file that parsed and validated.
#[derive(Debug, Clone)]
pub struct SdlFile {
    pub path: PathBuf,
    pub sdl: Sdl,
}

/// Why an SDL file could not be used.
#[derive(Debug)]
pub enum SdlFileError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The parser's error, with the file's text to quote the offending line.
    Invalid {
        path: PathBuf,
        error: Box<SdlError>,
        text: String,
    },
}

impl std::error::Error for SdlFileError {}

impl fmt::Display for SdlFileError {
    /// `FILE:LINE:COL: key.path: message (kind)`, then the line with a caret under the column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdlFileError::Read { path, source } => write!(f, "{}: {source}", path.display()),
            SdlFileError::Invalid { path, error, text } => {
                write!(f, "{}:{error}", path.display())?;
                if let Some(position) = error.position {
                    if let Some(line) = text.lines().nth(position.line.saturating_sub(1)) {
                        let number = position.line.to_string();
                        let pad = " ".repeat(number.len());
                        let caret: String = line
                            .chars()
                            .take(position.column.saturating_sub(1))
                            .map(|c| if c == '\t' { '\t' } else { ' ' })
                            .collect();
                        write!(f, "\n {pad} |\n {number} | {line}\n {pad} | {caret}^")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl SdlFileError {
    /// The parser's error, if the file was read.
    pub fn sdl_error(&self) -> Option<&SdlError> {
        match self {
            SdlFileError::Invalid { error, .. } => Some(error),
            SdlFileError::Read { .. } => None,
        }
    }
}

impl SdlFile {
    pub fn load(path: &Path) -> Result<Self, SdlFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| SdlFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let sdl = parse_sdl(&text).map_err(|error| SdlFileError::Invalid {
            path: path.to_path_buf(),
            error: Box::new(error),
            text: text.clone(),
        })?;
        Ok(SdlFile {
            path: path.to_path_buf(),
            sdl,
        })
    }

    pub fn groups(&self) -> Vec<PlacementGroup> {
        self.sdl.groups()
    }

    /// Sum of the escrows of every group's order.
    pub fn total_escrow(&self) -> Uint128 {
        self.groups()
            .iter()
            .fold(Uint128::zero(), |sum, g| sum + g.escrow_amount())
    }

    /// What `akash validate` prints: every group with its services, document hash, order
    /// and escrow.
    pub fn describe(&self) -> String {
        let groups = self.groups();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: valid SDL, {} placement group{}",
            self.path.display(),
            groups.len(),
            if groups.len() == 1 { "" } else { "s" }
        );
        for group in &groups {
            out.push('\n');
            out.push_str(&describe_group(group));
        }
        let _ = writeln!(
            out,
            "\ntotal escrow: {} ({} order{})",
            output::amount(self.total_escrow()),
            groups.len(),
            if groups.len() == 1 { "" } else { "s" }
        );
        out
    }
}

fn describe_group(group: &PlacementGroup) -> String {
    let mut out = String::new();
    let manifest = group.manifest();
    let spec = group.order_spec();
    let _ = writeln!(out, "group {}", group.name());
    for (name, service) in &manifest.services {
        let r = &service.resources;
        let _ = writeln!(
            out,
            "  service {name}: {} x {} (cpu {}, memory {}, storage {} each)",
            service.count,
            service.image,
            output::cpu(r.cpu_millis),
            output::bytes(r.memory_bytes),
            output::bytes(r.storage_bytes),
        );
        for expose in &service.expose {
            let reach = if expose.global {
                let mut who = vec!["global".to_string()];
                who.extend(expose.services.iter().cloned());
                who.join(", ")
            } else if expose.services.is_empty() {
                "nobody".to_string()
            } else {
                expose.services.join(", ")
            };
            let _ = writeln!(
                out,
                "    port {} as {}/{} <- {reach}",
                expose.port,
                expose.as_port,
                expose.proto.as_str()
            );
        }
    }
    for (name, peer) in &manifest.peers {
        let ports: Vec<String> = peer
            .ports
            .iter()
            .map(|p| {
                format!(
                    "{}/{} from {}",
                    p.as_port,
                    p.proto.as_str(),
                    p.clients.join(",")
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  peer {name}: {}",
            if ports.is_empty() {
                "connects in only".to_string()
            } else {
                ports.join("; ")
            }
        );
    }
    let _ = writeln!(
        out,
        "  manifest: sha256 {} ({} bytes)",
        group.sha256_hex(),
        group.document_bytes().len()
    );
    let _ = writeln!(
        out,
        "  order: {} x unit ({})",
        spec.count,
        output::resources(&spec.resources)
    );
    let _ = writeln!(
        out,
        "         max price {}, lease {} ({} s), bid window {} s",
        output::rate(spec.max_price_per_second),
        output::duration(spec.lease_duration_secs),
        spec.lease_duration_secs,
        spec.bid_window_secs
    );
    let requirements = &spec.requirements;
    let mut needs: Vec<String> = requirements
        .attributes
        .iter()
        .map(|a| format!("{}={}", a.key, a.value))
        .collect();
    if !requirements.min_stake.is_zero() {
        needs.push(format!(
            "stake >= {}",
            output::amount(requirements.min_stake)
        ));
    }
    if requirements.min_reputation > 0 {
        needs.push(format!("reputation >= {}", requirements.min_reputation));
    }
    let _ = writeln!(
        out,
        "         requirements: {}",
        if needs.is_empty() {
            "none".to_string()
        } else {
            needs.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "  escrow: {} ({} x {} s)",
        output::amount(group.escrow_amount()),
        output::rate(spec.max_price_per_second),
        spec.lease_duration_secs
    );
    out
}
