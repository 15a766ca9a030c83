//! What the server tells a client about itself, and the reference as resources: the whole
//! document at [`REFERENCE_URI`] and each function's section below it.

use rmcp::model::{
    ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool_handler};

use super::McpServer;

/// The URI of the whole reference; a function's section is `twilio://reference/<name>`.
pub const REFERENCE_URI: &str = "twilio://reference";

/// What the server says it is for, sent once at `initialize`.
const INSTRUCTIONS: &str = "Twilio for agents: write one Lua script against app.integrations.twilio and run it with run_lua. Read twilio_reference (or the twilio://reference resource) first. Credentials stay in the host; each run is a fresh sandbox with this tenant's limits and policy. To show a person what a script would send first, run it with plan: true; approve_plan sends exactly that plan, once, after the person agreed.";

#[tool_handler(router = self.tool_router)]
impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let reference = self.reference().await?;
        let whole = resource(
            REFERENCE_URI,
            "twilio_reference",
            "The whole Lua API reference",
        );
        let sections = reference.functions().map(|name| {
            resource(
                &format!("{REFERENCE_URI}/{name}"),
                name,
                &format!("The reference of {name}"),
            )
        });
        Ok(ListResourcesResult::with_all_items(
            std::iter::once(whole).chain(sections).collect(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.as_str();
        let reference = self.reference().await?;
        let text = match uri.strip_prefix(REFERENCE_URI) {
            Some("") => Some(reference.text()),
            Some(rest) => rest
                .strip_prefix('/')
                .and_then(|name| reference.section(name)),
            None => None,
        };
        let text = text.ok_or_else(|| {
            ErrorData::resource_not_found(format!("no resource {uri:?}; see resources/list"), None)
        })?;
        let contents = ResourceContents::TextResourceContents {
            uri: uri.to_string(),
            mime_type: Some("text/markdown".into()),
            text: text.to_string(),
            meta: None,
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

/// A Markdown resource.
fn resource(uri: &str, name: &str, description: &str) -> Resource {
    Resource::new(uri, name)
        .with_description(description)
        .with_mime_type("text/markdown")
}
