//! `cachet:engine/host-settings`: CONFIG SET of a setting the host applies itself (the TLS
//! listener's files) reaches the host here, which answers whether it could use the new values.

use super::bindings::cachet::engine::host_settings;
use std::sync::Arc;

/// What a server does with the settings it owns. A store without one accepts every change, as a
/// host that does not use the setting does (an in-process engine has no TLS listener).
pub trait HostSettings: Send + Sync {
    /// Checks and applies `changes` (names and values, as CONFIG SET gave them), all or none.
    /// The error is the reason CONFIG SET gives.
    fn apply(&self, changes: &[(String, String)]) -> Result<(), String>;

    /// The settings' current values, for an engine that replaces a faulted one.
    fn current(&self) -> Vec<(String, String)>;
}

impl host_settings::Host for super::HostState {
    fn apply(&mut self, changes: Vec<(String, String)>) -> Result<(), String> {
        match &self.host_settings {
            Some(settings) => settings.apply(&changes),
            None => Ok(()),
        }
    }
}

/// A handle to a server's settings, for the stores of its engines.
pub type SharedHostSettings = Arc<dyn HostSettings>;
