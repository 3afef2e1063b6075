//! Settings the host applies itself: the TLS listener's certificate, key, CA and client checks.
//! The engine keeps their values (CONFIG GET shows them) and checks their syntax; CONFIG SET hands
//! the changes to the host through the `host-settings` import, which reads the files and answers
//! whether it could use them. Only then does the engine take the new values.

/// What the host does with a CONFIG SET's host-owned settings (names and values): all or none;
/// the error is the reason CONFIG SET answers with.
pub type Apply = Box<dyn FnMut(&[(String, String)]) -> Result<(), String>>;

/// The engine's way to the host's settings. Without one (a native build, a host of the key-value
/// world), every change is accepted, as by a host that does not use the setting.
#[derive(Default)]
pub struct HostSettings {
    apply: Option<Apply>,
}

impl HostSettings {
    pub fn new(apply: Apply) -> Self {
        HostSettings { apply: Some(apply) }
    }

    pub fn apply(&mut self, changes: &[(String, String)]) -> Result<(), String> {
        match &mut self.apply {
            Some(apply) => apply(changes),
            None => Ok(()),
        }
    }
}
