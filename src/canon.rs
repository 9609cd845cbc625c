//! Canonical JSON (RFC 8785, JCS) and the `sha256:<hex>` digests built on it (design §1).
//!
//! Strings are hashed exactly as received: no normalization, no trimming. An inserted
//! zero-width space is a different digest.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::catalog::Header;

/// A `sha256:<64 lowercase hex>` digest of a canonical JSON value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Digest(String);

impl Digest {
    /// The full `sha256:…` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digest of raw bytes.
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hash = Sha256::digest(bytes);
        let mut hex = String::with_capacity(7 + 64);
        hex.push_str("sha256:");
        for byte in hash {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        Digest(hex)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value that cannot be canonicalized (only non-finite numbers, which JSON input
/// cannot produce; kept as an error rather than a panic all the same).
#[derive(Debug, thiserror::Error)]
#[error("cannot canonicalize JSON: {0}")]
pub struct CanonError(#[from] serde_json::Error);

/// The RFC 8785 canonical serialization of `value`.
pub fn canonical(value: &Value) -> Result<Vec<u8>, CanonError> {
    Ok(serde_json_canonicalizer::to_vec(value)?)
}

/// `sha256:` of the canonical form of `value`.
pub fn digest(value: &Value) -> Result<Digest, CanonError> {
    Ok(Digest::of_bytes(&canonical(value)?))
}

/// Digest of every top-level field of a tool, keyed by field name.
pub fn field_digests(tool: &Value) -> Result<BTreeMap<String, Digest>, CanonError> {
    let mut out = BTreeMap::new();
    if let Value::Object(map) = tool {
        for (key, value) in map {
            out.insert(key.clone(), digest(value)?);
        }
    }
    Ok(out)
}

/// The server header as one JSON object: `serverInfo`, `protocolVersion`, `instructions`
/// and `capabilities`, each present only when the header has it (a registry of format 1
/// scopes `capabilities` out first: [`Header::scoped`]). This object is what the header
/// digest pins.
pub fn header_value(header: &Header) -> Value {
    let mut map = Map::new();
    if let Some(info) = &header.server_info {
        map.insert("serverInfo".into(), info.clone());
    }
    if let Some(version) = &header.protocol_version {
        map.insert("protocolVersion".into(), version.clone());
    }
    if let Some(text) = &header.instructions {
        map.insert("instructions".into(), Value::String(text.clone()));
    }
    if let Some(capabilities) = &header.capabilities {
        map.insert("capabilities".into(), capabilities.clone());
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Vectors of the project's own, checked by hand against RFC 8785 §3.2.
    #[test]
    fn canonical_form_vectors() {
        let cases = [
            (json!({"b": 1, "a": [true, null, "x"]}), r#"{"a":[true,null,"x"],"b":1}"#),
            (json!({"\u{20ac}": 1, "\r": 2, "1": 3}), "{\"\\r\":2,\"1\":3,\"\u{20ac}\":1}"),
            (json!(1.0), "1"),
            (json!(1e21), "1e+21"),
            (json!(0.000001), "0.000001"),
            (json!(1e-7), "1e-7"),
            (json!("\u{200b}\u{1f}"), "\"\u{200b}\\u001f\""),
            (json!(-0.0), "0"),
        ];
        for (value, want) in cases {
            let got = String::from_utf8(canonical(&value).unwrap_or_default()).unwrap_or_default();
            assert_eq!(got, want, "for {value}");
        }
    }

    #[test]
    fn digest_is_stable_and_exact() {
        let d = digest(&json!({"name": "echo"})).unwrap_or_else(|e| panic!("{e}"));
        // sha256 of the 15 bytes {"name":"echo"}
        assert_eq!(d.as_str(), Digest::of_bytes(br#"{"name":"echo"}"#).as_str());
        assert_eq!(d.as_str().len(), 7 + 64);
        let with_zwsp = digest(&json!({"name": "ec\u{200b}ho"})).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(d, with_zwsp);
        assert_eq!(
            Digest::of_bytes(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
