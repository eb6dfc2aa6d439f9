//! The tenant's chain key, read from a local key file: either a raw secp256k1 private key in
//! hex (what `wasmd keys export NAME --unarmored-hex --unsafe` prints) or a BIP39 mnemonic
//! (derived at `m/44'/118'/0'/0/0`, like `wasmd keys add --recover`). The same key signs
//! chain transactions and the requests sent to providers' gateways.

use std::fmt;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use bech32::{Bech32, Hrp};
use bip32::{DerivationPath, Language, Mnemonic, XPrv};
use k256::ecdsa::SigningKey;
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// Cosmos HD path of the first account (coin type 118).
pub const DERIVATION_PATH: &str = "m/44'/118'/0'/0/0";

/// A secp256k1 private key. `Debug` never shows it.
#[derive(Clone)]
pub struct TenantKey {
    key: SigningKey,
}

impl fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TenantKey(..)")
    }
}

impl TenantKey {
    /// Reads a key file (hex or mnemonic, see the module documentation).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading key file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("key file {}", path.display()))
    }

    /// A key from text: 64 hex digits (an optional `0x` allowed), or a BIP39 mnemonic of 12
    /// to 24 English words.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let hex_text = text.strip_prefix("0x").unwrap_or(text);
        if hex_text.len() == 64 && hex_text.chars().all(|c| c.is_ascii_hexdigit()) {
            return Self::from_hex(hex_text);
        }
        let words = text.split_whitespace().count();
        if (12..=24).contains(&words) {
            return Self::from_mnemonic(text);
        }
        bail!(
            "neither a hex private key (64 hex digits) nor a BIP39 mnemonic (12 to 24 words): \
             {} characters, {words} words",
            text.len()
        )
    }

    pub fn from_hex(hex_key: &str) -> Result<Self> {
        let bytes = hex::decode(hex_key.trim()).context("private key hex")?;
        let key = SigningKey::from_slice(&bytes)
            .map_err(|_| anyhow!("private key: not a valid secp256k1 scalar"))?;
        Ok(TenantKey { key })
    }

    pub fn from_mnemonic(phrase: &str) -> Result<Self> {
        let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
        let mnemonic = Mnemonic::new(phrase, Language::English)
            .map_err(|e| anyhow!("mnemonic: {e} (English BIP39 words expected)"))?;
        let path: DerivationPath = DERIVATION_PATH
            .parse()
            .map_err(|e| anyhow!("derivation path: {e}"))?;
        let xprv = XPrv::derive_from_path(mnemonic.to_seed(""), &path)
            .map_err(|e| anyhow!("key derivation: {e}"))?;
        Self::from_hex(&hex::encode(xprv.private_key().to_bytes()))
    }

    /// The key to sign gateway requests with.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The raw private key in hex (to hand to the wasmd client).
    pub fn secret_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    /// `bech32(prefix, ripemd160(sha256(compressed public key)))`, as the Cosmos SDK and the
    /// gateway's signature check derive it.
    pub fn address(&self, prefix: &str) -> Result<String> {
        let public = self.key.verifying_key().to_encoded_point(true);
        let id: [u8; 20] = Ripemd160::digest(Sha256::digest(public.as_bytes())).into();
        let hrp = Hrp::parse(prefix).map_err(|e| anyhow!("address prefix {prefix:?}: {e}"))?;
        bech32::encode::<Bech32>(hrp, &id).map_err(|e| anyhow!("address: {e}"))
    }

    /// A fresh random key (the sandbox's tenant), from the OS's generator.
    pub fn generate() -> Result<Self> {
        use std::io::Read;
        let mut random = std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?;
        loop {
            let mut bytes = [0u8; 32];
            random
                .read_exact(&mut bytes)
                .context("reading /dev/urandom")?;
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                return Ok(TenantKey { key });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The localnet's `tenant` key: scripts/localnet.sh derives it from fixed entropy (it is
    // public knowledge, localnet only), and wasmd shows this address for it.
    const LOCALNET_TENANT_MNEMONIC: &str = "invite illness caution sister police truly laugh \
        put nurse tragic swear cousin lonely help pretty margin seed cherry debate cram search \
        entry dinosaur jacket";
    const LOCALNET_TENANT_ADDRESS: &str = "wasm1quyynap5nwhuwz8cd58mfecz2j40azc50de3ue";

    #[test]
    fn hex_and_mnemonic_keys_parse() {
        let key = TenantKey::parse(LOCALNET_TENANT_MNEMONIC).unwrap();
        assert_eq!(key.address("wasm").unwrap(), LOCALNET_TENANT_ADDRESS);
        let same = TenantKey::parse(&format!("0x{}\n", key.secret_hex())).unwrap();
        assert_eq!(same.address("wasm").unwrap(), LOCALNET_TENANT_ADDRESS);
        assert!(TenantKey::parse("not a key").is_err());
        assert!(TenantKey::parse(&"0".repeat(64)).is_err());
        // Twelve words that fail the BIP39 checksum.
        assert!(TenantKey::parse(&"abandon ".repeat(12)).is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let key = TenantKey::generate().unwrap();
        assert_eq!(format!("{key:?}"), "TenantKey(..)");
    }
}
