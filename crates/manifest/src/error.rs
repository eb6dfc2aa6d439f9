//! Errors of SDL parsing and of manifest document checks. Each names what is wrong, where
//! (key path and line:column) and the value seen.

use std::fmt;

/// A place in the SDL text, both 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What kind of problem an [`SdlError`] reports; tests and callers match on this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdlErrorKind {
    /// The text is not valid YAML (the position is the parser's).
    Syntax,
    /// Input, nesting or alias expansion beyond the limits of this crate.
    TooLarge,
    /// `version` is not "2.0".
    UnsupportedVersion,
    /// A key this crate does not know (often a typo).
    UnknownKey,
    /// A key Akash knows that this marketplace does not support.
    Unsupported,
    /// The same key twice in one mapping, or the same environment variable twice.
    DuplicateKey,
    /// Two expose entries of one service for the same port and protocol.
    DuplicateExpose,
    /// A required key is absent (or null).
    MissingKey,
    /// A section that must have at least one entry is empty.
    Empty,
    /// The value has the wrong YAML type (mapping, list, scalar, number, boolean).
    WrongType,
    /// A service, profile or placement name that is not allowed.
    InvalidName,
    InvalidImage,
    InvalidEnv,
    InvalidPort,
    InvalidProto,
    /// An `expose.to` entry that names neither a service nor `global`.
    InvalidExposeTarget,
    /// A service name that `services` does not define.
    UnknownService,
    /// A compute profile name that `profiles.compute` does not define.
    UnknownProfile,
    /// A placement name that `profiles.placement` does not define.
    UnknownPlacement,
    /// A service defined in `services` but not deployed anywhere.
    ServiceNotDeployed,
    InvalidCpu,
    InvalidMemory,
    InvalidStorage,
    InvalidBandwidth,
    InvalidCount,
    /// A placement has no price for a compute profile deployed with it.
    MissingPricing,
    InvalidAmount,
    InvalidDenom,
    /// A lease duration or bidding window that cannot be read or is out of range.
    InvalidDuration,
    /// Placement requirements the market would refuse (attributes, stake, reputation).
    InvalidRequirement,
}

impl SdlErrorKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SdlErrorKind::Syntax => "syntax",
            SdlErrorKind::TooLarge => "too large",
            SdlErrorKind::UnsupportedVersion => "unsupported version",
            SdlErrorKind::UnknownKey => "unknown key",
            SdlErrorKind::Unsupported => "unsupported",
            SdlErrorKind::DuplicateKey => "duplicate key",
            SdlErrorKind::DuplicateExpose => "duplicate expose",
            SdlErrorKind::MissingKey => "missing key",
            SdlErrorKind::Empty => "empty",
            SdlErrorKind::WrongType => "wrong type",
            SdlErrorKind::InvalidName => "invalid name",
            SdlErrorKind::InvalidImage => "invalid image",
            SdlErrorKind::InvalidEnv => "invalid env",
            SdlErrorKind::InvalidPort => "invalid port",
            SdlErrorKind::InvalidProto => "invalid proto",
            SdlErrorKind::InvalidExposeTarget => "invalid expose target",
            SdlErrorKind::UnknownService => "unknown service",
            SdlErrorKind::UnknownProfile => "unknown profile",
            SdlErrorKind::UnknownPlacement => "unknown placement",
            SdlErrorKind::ServiceNotDeployed => "service not deployed",
            SdlErrorKind::InvalidCpu => "invalid cpu",
            SdlErrorKind::InvalidMemory => "invalid memory",
            SdlErrorKind::InvalidStorage => "invalid storage",
            SdlErrorKind::InvalidBandwidth => "invalid bandwidth",
            SdlErrorKind::InvalidCount => "invalid count",
            SdlErrorKind::MissingPricing => "missing pricing",
            SdlErrorKind::InvalidAmount => "invalid amount",
            SdlErrorKind::InvalidDenom => "invalid denom",
            SdlErrorKind::InvalidDuration => "invalid duration",
            SdlErrorKind::InvalidRequirement => "invalid requirement",
        }
    }
}

/// A rejected SDL file: the kind of problem, the key path (`services.web.expose[0].port`),
/// where it is in the text and a message that includes the value seen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SdlError {
    pub kind: SdlErrorKind,
    /// Dotted key path with list indices; empty for the document itself.
    pub path: String,
    /// Absent only for problems that belong to no single place of the text.
    pub position: Option<Position>,
    pub message: String,
}

impl SdlError {
    pub fn new(
        kind: SdlErrorKind,
        path: impl Into<String>,
        position: Option<Position>,
        message: impl Into<String>,
    ) -> Self {
        SdlError {
            kind,
            path: path.into(),
            position,
            message: message.into(),
        }
    }

    /// Line of the error, 1-based, if it has a position.
    pub fn line(&self) -> Option<usize> {
        self.position.map(|p| p.line)
    }
}

impl fmt::Display for SdlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(position) = self.position {
            write!(f, "{position}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{} ({})", self.message, self.kind.as_str())
    }
}

/// A received manifest document that this crate refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("manifest document is {len} bytes, more than the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("manifest document is not valid JSON of the expected shape: {reason}")]
    Malformed { reason: String },
    #[error(
        "manifest document is not in canonical form (sorted keys, no whitespace, sorted lists)"
    )]
    NotCanonical,
    #[error("manifest document: {path}: {reason}")]
    Invalid { path: String, reason: String },
}
