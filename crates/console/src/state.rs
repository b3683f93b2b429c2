//! What the admin listener serves from: the running gateway, its stores and the control
//! hooks the binary provides.

use std::path::PathBuf;
use std::sync::Arc;

use sallyport_config::admin::AdminConfig;
use sallyport_guards::PinStore;
use sallyport_incidents::IncidentStore;
use sallyport_transport::Gateway;
use sallyport_transport::audit::AuditTrail;
use sallyport_transport::bus::DecisionBus;

use crate::error::ApiError;
use crate::operator::{Operator, OperatorAuth, Presented};
use crate::sessions::ConsoleSessions;

/// What only the binary can do: re-read the config file and publish it.
pub trait Control: Send + Sync + 'static {
    /// Reloads the configuration file; the message says what happened or why not.
    fn reload(&self) -> Result<String, String>;
    /// The policy files the running config names (`authz.policy_files`), and whether an
    /// `authz` section exists at all.
    fn policy_files(&self) -> Option<Vec<PathBuf>>;
}

/// The admin listener's shared state.
pub struct AdminState {
    /// The running gateway.
    pub gateway: Arc<Gateway>,
    /// Decision records, for the live event stream.
    pub bus: DecisionBus,
    /// The audit trail, when configured.
    pub audit: Option<AuditTrail>,
    /// The pin store, when `detect.pinning` is configured.
    pub pins: Option<Arc<PinStore>>,
    /// The incident store, when `incidents` is configured.
    pub incidents: Option<Arc<IncidentStore>>,
    /// The admin section.
    pub config: AdminConfig,
    /// Operator authentication.
    pub operators: OperatorAuth,
    /// Console logins.
    pub sessions: ConsoleSessions,
    /// Reload and config access.
    pub control: Arc<dyn Control>,
    /// What traffic protection refused lately (fed from the bus).
    pub(crate) traffic: crate::traffic::TrafficWatch,
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("listen", &self.config.listen)
            .finish_non_exhaustive()
    }
}

impl AdminState {
    /// State for `config` over the running gateway (call within a Tokio runtime: it starts
    /// the task that counts traffic refusals); stores are attached through the fields.
    pub fn new(
        config: AdminConfig,
        gateway: Arc<Gateway>,
        bus: DecisionBus,
        control: Arc<dyn Control>,
    ) -> Self {
        Self {
            operators: OperatorAuth::new(&config),
            sessions: ConsoleSessions::new(std::time::Duration::from_secs(config.session_ttl_secs)),
            traffic: crate::traffic::TrafficWatch::spawn(&bus),
            gateway,
            bus,
            audit: None,
            pins: None,
            incidents: None,
            config,
            control,
        }
    }

    /// Authenticates an API caller.
    pub async fn operator(&self, presented: &Presented) -> Result<Operator, ApiError> {
        let core = self.gateway.core();
        self.operators
            .authenticate(presented, core.auth.as_deref())
            .await
    }

    /// The pin store, or a 409 naming the section to configure.
    pub fn pin_store(&self) -> Result<&Arc<PinStore>, ApiError> {
        self.pins
            .as_ref()
            .ok_or_else(|| ApiError::NotConfigured("no pin store: configure detect.pinning".into()))
    }

    /// The incident store, or a 409 naming the section to configure.
    pub fn incident_store(&self) -> Result<&Arc<IncidentStore>, ApiError> {
        self.incidents.as_ref().ok_or_else(|| {
            ApiError::NotConfigured("no incident store: configure the incidents section".into())
        })
    }

    /// The audit trail, or a 409 naming the section to configure.
    pub fn audit_trail(&self) -> Result<&AuditTrail, ApiError> {
        self.audit.as_ref().ok_or_else(|| {
            ApiError::NotConfigured("no audit trail: configure the audit section".into())
        })
    }
}
