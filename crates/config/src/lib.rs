//! Sallyport configuration: the `sallyport.yaml` types, loading and validation.
//!
//! Loading runs in stages, each reporting against the original text:
//!
//! 1. **Interpolation** of `${VAR}` and `${VAR:-default}` from the environment on the
//!    raw text (`$${` is a literal `${`; comment lines are left alone). Every
//!    undefined variable is reported. Values taken from the environment never
//!    appear in error messages.
//! 2. **Parsing** with serde-saphyr under YAML budgets (aliases, depth, size).
//!    Unknown fields are rejected, naming the valid ones.
//! 3. **Validation** of everything serde cannot express (unique names, exactly one
//!    transport, URLs, limits…), collecting every error with its location.
//!
//! ```
//! let yaml = r#"
//! listen: { http: "127.0.0.1:8787" }
//! servers:
//!   - name: everything
//!     stdio: { command: npx, args: ["-y", "@modelcontextprotocol/server-everything"] }
//!   - name: time
//!     http: { url: "http://127.0.0.1:9000/mcp" }
//!     tools: { allow: ["get_*"] }
//! "#;
//! let config = sallyport_config::load_str(yaml, "sallyport.yaml").unwrap();
//! assert_eq!(config.servers.len(), 2);
//! assert_eq!(config.federation.separator, "__");
//! assert!(config.servers[1].tools.permits("get_time"));
//!
//! let errors = sallyport_config::load_str("servers: []\nlisten: { port: 1 }\n", "bad.yaml")
//!     .unwrap_err();
//! assert!(errors.to_string().starts_with("bad.yaml:2:11: listen.port: unknown field \"port\""));
//! ```
#![deny(missing_docs)]

pub mod admin;
mod error;
mod interpolate;
mod load;
mod locate;
mod secret;
mod server;
pub mod telemetry;
mod types;
mod validate;

pub use error::{ConfigError, ConfigErrors, Location};
pub use load::{MAX_CONFIG_BYTES, load_file, load_str, load_str_with_env};
pub use secret::{REDACTED, SecretString};
pub use server::{
    EraPreference, HttpServer, Restart, Server, StdioServer, ToolFilter, TransportRef,
};
pub use types::{
    Authz, Config, FailureMode, Federation, Guards, HealthCheck, Listen, ListenTls, MessageLimits,
};

/// The JSON Schema (draft-07, understood by editors' YAML language servers) of
/// `sallyport.yaml`, as checked in at `schema/sallyport.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Config>();
    schema.to_value()
}
