//! Catalog loading: every input shape of design §2, with items kept as raw JSON.
//!
//! A catalog holds the server header and every item it lists: tools, prompts,
//! resources and resource templates (`tools`, `prompts`, `resources`,
//! `resourceTemplates`; a list that is absent means none is served). Items are never
//! parsed into a struct: unknown fields (`execution`, `icons`, vendor keys) must survive
//! load → pin → lock byte for byte.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::item::{ItemRef, Kind};

/// Files (and stdin) larger than this are refused before parsing.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// What one server exposes at one moment.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// The server's name: from the file, `--server`, or the file stem.
    pub server: String,
    /// Where it was read from: a path or `<stdin>`, with `#/catalogs/N` inside a bundle.
    pub origin: String,
    pub header: Header,
    /// Every item, kind by kind in [`Kind::PINNED`] order, each in served order.
    pub items: Vec<Item>,
    /// Keys given twice outside any item (pointers relative to the catalog object).
    pub duplicates: Vec<Shadowed>,
}

/// The server-level metadata that reaches the model besides tools.
#[derive(Clone, Debug, Default)]
pub struct Header {
    pub server_info: Option<Value>,
    pub protocol_version: Option<Value>,
    pub instructions: Option<String>,
    /// What the server declares it can do (`tools`, `prompts`, `sampling`, …,
    /// `listChanged`): pinned by registries of format 2 and later.
    pub capabilities: Option<Value>,
}

impl Header {
    /// The header as a registry of this `pins_capabilities` setting pins it.
    pub fn scoped(&self, pins_capabilities: bool) -> Header {
        let mut header = self.clone();
        if !pins_capabilities {
            header.capabilities = None;
        }
        header
    }
}

impl Catalog {
    /// The tools, in served order.
    pub fn tools(&self) -> impl Iterator<Item = &Item> {
        self.of_kind(Kind::Tool)
    }

    /// The items of one kind, in served order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(move |item| item.kind == kind)
    }
}

/// One MCP tool, prompt, resource or resource template, exactly as served.
#[derive(Clone, Debug)]
pub struct Item {
    pub kind: Kind,
    /// Its key: `name`, or `uri` / `uriTemplate` (raw).
    pub name: String,
    pub value: Value,
    /// Keys the input gave twice inside the item; `value` keeps the last one.
    pub duplicate_keys: Vec<Shadowed>,
    /// Where the item sits in its input document (`/catalogs/0/tools/3`).
    pub source_pointer: String,
}

impl Item {
    /// Its key.
    pub fn key(&self) -> ItemRef {
        ItemRef::new(self.kind, self.name.clone())
    }
}

/// A value a duplicated key hid: what the reader of the first (or any earlier) value
/// of the key would see. Scanned like the value that won.
#[derive(Clone, Debug)]
pub struct Shadowed {
    /// Where the key is, relative to its tool (or catalog).
    pub pointer: String,
    /// The earlier value, alone at its place in an otherwise empty copy of the
    /// containers above it, so the field walker gives its strings their kinds.
    pub skeleton: Value,
    /// `pointer` as it reads inside `skeleton` (array indices there are 0).
    pub pointer_in_skeleton: String,
}

impl Shadowed {
    /// The hidden `earlier` value of the key at `pointer` in `container`.
    fn new(container: &Value, pointer: &str, earlier: Value) -> Shadowed {
        let tokens: Vec<String> =
            pointer.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
        // Which containers on the way are arrays, as the value that won shows.
        let mut arrays = Vec::with_capacity(tokens.len());
        let mut node = Some(container);
        for token in &tokens {
            arrays.push(matches!(node, Some(Value::Array(_))));
            node = match node {
                Some(Value::Array(list)) => token.parse::<usize>().ok().and_then(|i| list.get(i)),
                Some(Value::Object(map)) => map.get(token),
                _ => None,
            };
        }
        let mut skeleton = earlier;
        for (token, &array) in tokens.iter().zip(&arrays).rev() {
            skeleton = if array {
                Value::Array(vec![skeleton])
            } else {
                Value::Object(std::iter::once((token.clone(), skeleton)).collect())
            };
        }
        let pointer_in_skeleton = tokens
            .iter()
            .zip(&arrays)
            .map(
                |(token, &array)| {
                    if array {
                        "/0".to_owned()
                    } else {
                        format!("/{}", crate::fields::escape_token(token))
                    }
                },
            )
            .collect();
        Shadowed { pointer: pointer.to_owned(), skeleton, pointer_in_skeleton }
    }

    /// A pointer inside the skeleton, as it reads in the real document.
    pub fn real_pointer(&self, in_skeleton: &str) -> Option<String> {
        let rest = in_skeleton.strip_prefix(&self.pointer_in_skeleton)?;
        (rest.is_empty() || rest.starts_with('/')).then(|| format!("{}{rest}", self.pointer))
    }
}

/// A catalog that could not be read. `at` is a JSON pointer or a line/column.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {at}: {message}")]
pub struct LoadError {
    pub origin: String,
    pub at: String,
    pub message: String,
}

impl LoadError {
    fn new(origin: &str, at: impl Into<String>, message: impl Into<String>) -> LoadError {
        LoadError { origin: origin.to_owned(), at: at.into(), message: message.into() }
    }
}

/// Reads a catalog file, or stdin for `-`, refusing anything over [`MAX_INPUT_BYTES`].
pub fn read_input(path: &str) -> Result<Vec<u8>, LoadError> {
    let origin = origin_label(path);
    let io_err = |e: std::io::Error| LoadError::new(&origin, "file", format!("cannot read: {e}"));
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin().take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes).map_err(io_err)?;
    } else {
        let file = std::fs::File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        if len > MAX_INPUT_BYTES {
            return Err(too_large(&origin, len));
        }
        // Sized up front: `take` hides the length, and reading into a growing buffer
        // from 32 bytes up took a read and a copy per doubling.
        bytes.reserve_exact(usize::try_from(len).unwrap_or(0).saturating_add(1));
        file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes).map_err(io_err)?;
    }
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(&origin, bytes.len() as u64));
    }
    Ok(bytes)
}

fn too_large(origin: &str, len: u64) -> LoadError {
    LoadError::new(
        origin,
        "file",
        format!("{len} bytes is over the {} MiB limit for a catalog", MAX_INPUT_BYTES / (1024 * 1024)),
    )
}

/// `<stdin>` for `-`, else the path as given.
pub fn origin_label(path: &str) -> String {
    if path == "-" {
        "<stdin>".to_owned()
    } else {
        path.to_owned()
    }
}

/// The server name used when the file does not carry one: `--server`, else the file stem.
pub fn fallback_server_name(path: &str, server_flag: Option<&str>) -> String {
    if let Some(name) = server_flag {
        return name.to_owned();
    }
    if path == "-" {
        return "stdin".to_owned();
    }
    Path::new(path).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| path.to_owned())
}

/// Parses one input into its catalogs (one, or many for a bundle).
pub fn parse(origin: &str, bytes: &[u8], fallback_name: &str) -> Result<Vec<Catalog>, LoadError> {
    let text = decode_utf8(origin, bytes)?;
    let parsed = crate::json::parse(text).map_err(|e| json_error(origin, &e))?;
    if parsed.too_many_duplicates {
        return Err(LoadError::new(
            origin,
            "/",
            "more duplicated keys than toolreg records one by one: refusing, since what each reader sees differs",
        ));
    }
    let duplicates = parsed.duplicate_keys;
    if let Some(structural) = duplicates.iter().find(|d| is_structural(&d.pointer)) {
        return Err(LoadError::new(
            origin,
            &structural.pointer,
            "this key is given twice: readers disagree on which one they use, so the catalog is refused",
        ));
    }
    let bundle = matches!(&parsed.value, Value::Object(map) if map.contains_key("catalogs"));
    let mut catalogs = match parsed.value {
        Value::Object(mut map) if map.contains_key("catalogs") => {
            let Some(Value::Array(list)) = map.remove("catalogs") else {
                return Err(LoadError::new(origin, "/catalogs", "a bundle's \"catalogs\" must be an array"));
            };
            let mut out = Vec::with_capacity(list.len());
            for (i, item) in list.into_iter().enumerate() {
                let at = format!("/catalogs/{i}");
                let mut catalog = catalog_from(origin, &at, item, fallback_name)?;
                catalog.origin = format!("{origin}#{at}");
                out.push(catalog);
            }
            out
        }
        Value::Object(mut map) if map.contains_key("jsonrpc") => {
            if let Some(error) = map.get("error") {
                let message = error.get("message").and_then(Value::as_str).unwrap_or("(no message)");
                return Err(LoadError::new(
                    origin,
                    "/error",
                    format!("a JSON-RPC error response, not a tools/list result: {message}"),
                ));
            }
            let Some(result) = map.remove("result") else {
                return Err(LoadError::new(origin, "/result", "a JSON-RPC response without a \"result\""));
            };
            vec![catalog_from(origin, "/result", result, fallback_name)?]
        }
        other => vec![catalog_from(origin, "", other, fallback_name)?],
    };
    attach_duplicates(&mut catalogs, duplicates, bundle);
    Ok(catalogs)
}

/// A duplicated key that decides which items there are: a list (`tools`, `prompts`,
/// …), `catalogs`, `result`. No reading of such a document is the reading.
fn is_structural(pointer: &str) -> bool {
    let tokens: Vec<&str> = pointer.split('/').skip(1).collect();
    let list = |key: &str| Kind::from_list_key(key).is_some();
    match tokens.as_slice() {
        [key] => list(key) || ["catalogs", "result", "jsonrpc", "error"].contains(key),
        ["result", key] => list(key),
        ["catalogs", index, key] => index.parse::<usize>().is_ok() && list(key),
        _ => false,
    }
}

/// Gives each tool the duplicate keys found inside it (pointers relative to the tool),
/// and each catalog those outside its tools.
fn attach_duplicates(catalogs: &mut [Catalog], duplicates: Vec<crate::json::Duplicate>, bundle: bool) {
    if duplicates.is_empty() {
        return;
    }
    let mut owner = std::collections::HashMap::new();
    for (c, catalog) in catalogs.iter().enumerate() {
        for (t, item) in catalog.items.iter().enumerate() {
            owner.insert(item.source_pointer.clone(), (c, t));
        }
    }
    for duplicate in duplicates {
        let pointer = &duplicate.pointer;
        // The owning tool's pointer is a prefix ending where a '/' starts the rest.
        let found = pointer
            .match_indices('/')
            .map(|(i, _)| i)
            .find_map(|i| owner.get(&pointer[..i]).map(|&at| (at, pointer[i..].to_owned())));
        if let Some(((c, t), rest)) = found {
            let item = &mut catalogs[c].items[t];
            let shadowed = Shadowed::new(&item.value, &rest, duplicate.earlier);
            item.duplicate_keys.push(shadowed);
            continue;
        }
        // Outside every tool: the catalog's own keys (its header).
        let (c, rest) = match (bundle, pointer.strip_prefix("/catalogs/")) {
            (true, Some(rest)) => {
                let (index, rest) = rest.split_once('/').unwrap_or((rest, ""));
                (index.parse::<usize>().unwrap_or(usize::MAX), format!("/{rest}"))
            }
            _ => (0, pointer.strip_prefix("/result").filter(|_| !bundle).unwrap_or(pointer).to_owned()),
        };
        if let Some(catalog) = catalogs.get_mut(c) {
            let shadowed = Shadowed::new(&Value::Null, &rest, duplicate.earlier);
            catalog.duplicates.push(shadowed);
        }
    }
}

/// Compressed formats by their magic bytes: named, never unpacked (a small file can
/// unpack to gigabytes).
const COMPRESSED: [(&[u8], &str); 6] = [
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
];

/// The compressed format `bytes` start like, if any.
pub fn compressed_format(bytes: &[u8]) -> Option<&'static str> {
    COMPRESSED.iter().find(|(magic, _)| bytes.starts_with(magic)).map(|(_, name)| *name)
}

fn decode_utf8<'a>(origin: &str, bytes: &'a [u8]) -> Result<&'a str, LoadError> {
    if let Some(format) = compressed_format(bytes) {
        return Err(LoadError::new(
            origin,
            "byte 0",
            format!(
                "{format}-compressed data, not JSON: toolreg never unpacks input; unpack it yourself first"
            ),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
        LoadError::new(origin, format!("byte {offset} (line {line})"), "invalid UTF-8")
    })
}

fn json_error(origin: &str, e: &crate::json::ParseError) -> LoadError {
    let (line, column) = e.position();
    let at = format!("line {line}, column {column}");
    let message = match e {
        crate::json::ParseError::TooDeep { .. } => e.to_string(),
        crate::json::ParseError::Json(e) => {
            // serde_json's message ends with its own "at line L column C": keep the cause only.
            let text = e.to_string();
            let cause = text.split(" at line ").next().unwrap_or(&text).to_owned();
            format!("invalid JSON: {cause}")
        }
    };
    LoadError::new(origin, at, message)
}

/// One catalog from a catalog object, a listing result, or a bare array of tools.
fn catalog_from(origin: &str, at: &str, value: Value, fallback_name: &str) -> Result<Catalog, LoadError> {
    let here = if at.is_empty() { "/" } else { at };
    let mut lists: Vec<(Kind, Value, String)> = Vec::new();
    let object = match value {
        Value::Array(_) => {
            lists.push((Kind::Tool, value, at.to_owned()));
            None
        }
        Value::Object(mut map) => {
            for kind in Kind::PINNED {
                if let Some(list) = map.remove(kind.list_key()) {
                    lists.push((kind, list, format!("{at}/{}", kind.list_key())));
                }
            }
            if lists.is_empty() {
                return Err(LoadError::new(
                    origin,
                    here,
                    "not a catalog: expected an object with \"tools\" (or \"prompts\", \"resources\", \
                     \"resourceTemplates\") or \"catalogs\", or an array of tools",
                ));
            }
            Some(map)
        }
        _ => {
            return Err(LoadError::new(
                origin,
                here,
                "not a catalog: expected an object or an array of tools",
            ))
        }
    };

    let mut items: Vec<Item> = Vec::new();
    for (kind, list, list_at) in lists {
        items.extend(items_from(origin, kind, list, &list_at)?);
    }

    let header = match &object {
        Some(map) => header_from(origin, at, map)?,
        None => Header::default(),
    };
    let server = object
        .as_ref()
        .and_then(|map| map.get("server"))
        .and_then(|s| match s {
            Value::String(name) => Some(name.clone()),
            Value::Object(info) => info.get("name").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        })
        .or_else(|| {
            header.server_info.as_ref().and_then(|i| i.get("name")).and_then(Value::as_str).map(str::to_owned)
        })
        .unwrap_or_else(|| fallback_name.to_owned());

    Ok(Catalog { server, origin: origin.to_owned(), header, items, duplicates: Vec::new() })
}

/// The items of one list: each an object with a string key, no key twice.
fn items_from(origin: &str, kind: Kind, list: Value, list_at: &str) -> Result<Vec<Item>, LoadError> {
    let Value::Array(list) = list else {
        return Err(LoadError::new(origin, list_at, format!("\"{}\" must be an array", kind.list_key())));
    };
    let key = kind.name_key();
    let mut items = Vec::with_capacity(list.len());
    let mut seen = std::collections::HashMap::with_capacity(list.len());
    for (i, value) in list.into_iter().enumerate() {
        let here = format!("{list_at}/{i}");
        if !value.is_object() {
            return Err(LoadError::new(origin, here, format!("a {kind} must be a JSON object")));
        }
        let Some(name) = value.get(key).and_then(Value::as_str).map(str::to_owned) else {
            return Err(LoadError::new(
                origin,
                format!("{here}/{key}"),
                format!("a {kind} needs a string \"{key}\""),
            ));
        };
        if let Some(first) = seen.insert(name.clone(), i) {
            return Err(LoadError::new(
                origin,
                format!("{here}/{key}"),
                format!(
                    "duplicate {kind} {key} {} (first at {list_at}/{first}): a server's {} must be unique",
                    crate::visible::escape(&name),
                    if kind == Kind::Tool { "tool names".to_owned() } else { format!("{kind} {key}s") }
                ),
            ));
        }
        items.push(Item { kind, name, value, duplicate_keys: Vec::new(), source_pointer: here });
    }
    Ok(items)
}

/// The header from a catalog object. A capture that carries the verbatim
/// `initializeResponse` (as `../shared/corpus/live/` does) supplies what the catalog
/// object itself leaves out.
fn header_from(origin: &str, at: &str, map: &serde_json::Map<String, Value>) -> Result<Header, LoadError> {
    let init = map.get("initializeResponse").and_then(|r| r.get("result"));
    let pick = |key: &str| map.get(key).or_else(|| init.and_then(|i| i.get(key))).filter(|v| !v.is_null());

    let server_info = match map.get("server") {
        Some(info @ Value::Object(_)) => Some(info.clone()),
        _ => pick("serverInfo").cloned(),
    };
    let instructions = match pick("instructions") {
        None => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            return Err(LoadError::new(
                origin,
                format!("{at}/instructions"),
                "\"instructions\" must be a string",
            ))
        }
    };
    Ok(Header {
        server_info,
        protocol_version: pick("protocolVersion").cloned(),
        instructions,
        capabilities: pick("capabilities").cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<Catalog>, LoadError> {
        parse("t.json", text.as_bytes(), "t")
    }

    #[test]
    fn every_shape_loads() {
        let shapes = [
            r#"{"server": {"name": "s", "version": "1"}, "instructions": "hi", "tools": [{"name": "a"}]}"#,
            r#"{"server": "s", "tools": [{"name": "a"}]}"#,
            r#"{"catalogs": [{"server": "s", "tools": [{"name": "a"}]}]}"#,
            r#"{"tools": [{"name": "a"}], "nextCursor": null}"#,
            r#"{"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "a"}]}}"#,
            r#"[{"name": "a"}]"#,
        ];
        for shape in shapes {
            let catalogs = load(shape).unwrap_or_else(|e| panic!("{shape}: {e}"));
            assert_eq!(catalogs.len(), 1);
            assert_eq!(catalogs[0].items[0].name, "a");
        }
        assert_eq!(load(shapes[0]).map(|c| c[0].server.clone()).ok().as_deref(), Some("s"));
        assert_eq!(load(shapes[5]).map(|c| c[0].server.clone()).ok().as_deref(), Some("t"));
    }

    #[test]
    fn every_kind_of_item_loads() {
        let text = r#"{"server": "s", "prompts": [{"name": "p"}], "resources": [{"uri": "file:///a", "name": "a"}],
            "resourceTemplates": [{"uriTemplate": "file:///{x}", "name": "t"}]}"#;
        let catalogs = load(text).unwrap_or_else(|e| panic!("{e}"));
        let keys: Vec<ItemRef> = catalogs[0].items.iter().map(Item::key).collect();
        assert_eq!(
            keys,
            [
                ItemRef::new(Kind::Prompt, "p"),
                ItemRef::new(Kind::Resource, "file:///a"),
                ItemRef::new(Kind::ResourceTemplate, "file:///{x}")
            ]
        );
        assert_eq!(catalogs[0].tools().count(), 0, "no tools list: none served");
        for (text, at) in [
            (r#"{"prompts": [{"name": "p"}, {"name": "p"}]}"#, "/prompts/1/name"),
            (r#"{"resources": [{"name": "no uri"}]}"#, "/resources/0/uri"),
            (r#"{"resourceTemplates": {}}"#, "/resourceTemplates"),
            (r#"{"tools": [], "prompts": [], "prompts": []}"#, "/prompts"),
        ] {
            match load(text) {
                Ok(_) => panic!("{text} loaded"),
                Err(e) => assert_eq!(e.at, at, "{text}: {e}"),
            }
        }
    }

    #[test]
    fn unknown_fields_survive() {
        let catalogs = load(r#"[{"name": "a", "execution": {"taskSupport": "optional"}, "x-vendor": [1]}]"#);
        let tool = &catalogs.unwrap_or_default()[0].items[0].value;
        assert_eq!(tool["execution"]["taskSupport"], "optional");
        assert_eq!(tool["x-vendor"][0], 1);
    }

    #[test]
    fn bad_inputs_name_the_place() {
        let cases = [
            ("{", "line 1, column 1"),
            (r#"[{"title": "no name"}]"#, "/0/name"),
            (r#"{"tools": [{"name": "a"}, {"name": "a"}]}"#, "/tools/1/name"),
            (r#"{"tools": {}}"#, "/tools"),
            (r#"{"catalogs": [{"server": "s", "tools": [1]}]}"#, "/catalogs/0/tools/0"),
            (r#"{"jsonrpc": "2.0", "error": {"message": "nope"}}"#, "/error"),
            (r#"{"server": "s", "instructions": 3, "tools": []}"#, "/instructions"),
            ("\"just a string\"", "/"),
        ];
        for (text, at) in cases {
            match load(text) {
                Ok(_) => panic!("{text} loaded"),
                Err(e) => assert_eq!(e.at, at, "{text}: {e}"),
            }
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = load(&deep).err().map(|e| e.message);
        assert_eq!(err.as_deref(), Some("nesting deeper than 128 levels"));
        let err = parse("t.json", b"[\"\xff\"]", "t").err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("t.json: byte 2 (line 1): invalid UTF-8"));
    }
}
