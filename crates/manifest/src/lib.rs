//! Akash SDL 2.0 for this marketplace: parse and validate an SDL file, split it into one
//! manifest document per placement group (canonical JSON, sha256) and the order each needs.
//!
//! ```
//! let sdl = akash_manifest::parse_sdl(include_str!("../../../examples/web.yaml")).unwrap();
//! let group = &sdl.groups()[0];
//! let spec = group.order_spec();
//! assert_eq!(spec.manifest_sha256, group.sha256_hex());
//! assert_eq!(
//!     group.escrow_amount(),
//!     spec.max_price_per_second * cosmwasm_std::Uint128::from(spec.lease_duration_secs)
//! );
//! ```

#![forbid(unsafe_code)]

mod document;
mod error;
mod group;
mod read;
mod sdl;
mod units;
mod yaml;

pub use document::{
    sha256_hex, Expose, GroupManifest, Peer, PeerPort, Proto, ServiceManifest, ServiceResources,
    DOCUMENT_VERSION, MAX_DOCUMENT_BYTES, MAX_ENV_KEY_LEN, MAX_IMAGE_LEN, MAX_SERVICE_NAME_LEN,
};
pub use error::{DocumentError, Position, SdlError, SdlErrorKind};
pub use group::{OrderParams, PlacementGroup};
pub use sdl::{
    parse_sdl, ParsedSdl, Sdl, DEFAULT_BANDWIDTH_BYTES_PER_SEC, DEFAULT_BID_WINDOW_SECS,
    DEFAULT_LEASE_DURATION_SECS, MAX_CPU_MILLIS, MAX_PROFILE_NAME_LEN, MAX_SDL_BYTES, SDL_VERSION,
};
pub use units::BASE_UNITS_PER_AKT;
pub use yaml::{MAX_DEPTH, MAX_NODES};
