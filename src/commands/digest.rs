//! `toolreg digest`: the canonical digest of every tool (and, in JSON, of every
//! top-level field and of the server header).

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::{emit, load_inputs, Context};
use crate::canon::{self, Digest};
use crate::cli::{DigestArgs, SimpleFormat};
use crate::error::Error;
use crate::policy::Outcome;
use crate::visible;

#[derive(Serialize)]
struct ServerDigests {
    server: String,
    header: Digest,
    tools: Vec<ToolDigests>,
}

#[derive(Serialize)]
struct ToolDigests {
    name: String,
    digest: Digest,
    fields: BTreeMap<String, Digest>,
}

pub fn run(args: &DigestArgs, _ctx: &Context, out: &mut dyn Write) -> Result<Outcome, Error> {
    let catalogs = load_inputs(&args.input)?;
    let mut servers = Vec::with_capacity(catalogs.len());
    for catalog in &catalogs {
        let mut tools = Vec::with_capacity(catalog.tools().count());
        for tool in catalog.tools() {
            tools.push(ToolDigests {
                name: tool.name.clone(),
                digest: canon::digest(&tool.value)?,
                fields: canon::field_digests(&tool.value)?,
            });
        }
        let header = canon::digest(&canon::header_value(&catalog.header))?;
        servers.push(ServerDigests { server: catalog.server.clone(), header, tools });
    }
    let text = match args.format {
        SimpleFormat::Json => {
            // Names are escaped here too: a script printing them must not reach a terminal raw.
            for server in &mut servers {
                server.server = visible::escape(&server.server);
                for tool in &mut server.tools {
                    tool.name = visible::escape(&tool.name);
                    tool.fields = std::mem::take(&mut tool.fields)
                        .into_iter()
                        .map(|(k, v)| (visible::escape(&k), v))
                        .collect();
                }
            }
            let mut text =
                serde_json::to_string_pretty(&serde_json::json!({"version": 1, "servers": servers}))?;
            text.push('\n');
            text
        }
        SimpleFormat::Human => {
            let mut text = String::new();
            for server in &servers {
                let name = visible::escape(&server.server);
                for tool in &server.tools {
                    text.push_str(&format!("{name}/{} {}\n", visible::escape(&tool.name), tool.digest));
                }
            }
            text
        }
    };
    emit(out, &text)?;
    Ok(Outcome::Pass)
}
