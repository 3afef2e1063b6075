//! What a fresh connection is told before its first request: the settings a client's URL gives
//! (the WIT `options`). `noreply` is not among them: a client that reads a reply for every request
//! cannot run under CLIENT REPLY OFF, so the URL parser refuses it.

/// What every new connection is set up with, and how often a request is tried again when its
/// connection breaks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionSettings {
    pub username: Option<String>,
    pub password: Option<String>,
    pub database: u32,
    pub client_name: Option<String>,
    /// 2 or 3.
    pub protocol: u8,
    pub retries: u32,
    /// Sent after the others (READONLY, CLIENT TRACKING ...).
    pub extra_set_up: Vec<Vec<Vec<u8>>>,
    /// `CLIENT NO-EVICT on`: the server does not evict this client for its memory.
    pub no_evict: bool,
    /// `CLIENT NO-TOUCH on`: this client's reads leave the keys' LRU/LFU ages alone.
    pub no_touch: bool,
}

impl ConnectionSettings {
    /// The commands that set a new connection up, in order. RESP3 (or a user name) takes HELLO,
    /// which authenticates in the same round trip; otherwise plain AUTH keeps Redis 5 and
    /// password-only servers working.
    pub fn set_up_commands(&self) -> Vec<Vec<Vec<u8>>> {
        let mut commands = Vec::new();
        let user = self.username.clone().unwrap_or_else(|| "default".into());
        if self.protocol == 3 {
            let mut hello = vec![b"HELLO".to_vec(), b"3".to_vec()];
            if let Some(password) = &self.password {
                hello.extend([b"AUTH".to_vec(), user.into_bytes(), password.clone().into_bytes()]);
            }
            commands.push(hello);
        } else if let Some(password) = &self.password {
            let mut auth = vec![b"AUTH".to_vec()];
            if self.username.is_some() {
                auth.push(user.into_bytes());
            }
            auth.push(password.clone().into_bytes());
            commands.push(auth);
        }
        if self.database != 0 {
            commands.push(vec![b"SELECT".to_vec(), self.database.to_string().into_bytes()]);
        }
        if let Some(name) = &self.client_name {
            commands.push(vec![b"CLIENT".to_vec(), b"SETNAME".to_vec(), name.clone().into_bytes()]);
        }
        for (wanted, flag) in [(self.no_evict, &b"NO-EVICT"[..]), (self.no_touch, &b"NO-TOUCH"[..])] {
            if wanted {
                commands.push(vec![b"CLIENT".to_vec(), flag.to_vec(), b"on".to_vec()]);
            }
        }
        commands.extend(self.extra_set_up.iter().cloned());
        commands
    }

    /// The set-up commands as the bytes to send, and how many replies they are answered with.
    pub fn encoded_set_up(&self) -> (Vec<u8>, usize) {
        let commands = self.set_up_commands();
        let mut encoded = Vec::new();
        for command in &commands {
            crate::resp::encode_command(&mut encoded, command);
        }
        (encoded, commands.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(commands: Vec<Vec<Vec<u8>>>) -> Vec<String> {
        commands.iter().map(|c| c.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ")).collect()
    }

    #[test]
    fn set_up_commands() {
        assert!(ConnectionSettings::default().set_up_commands().is_empty());
        let settings = ConnectionSettings { password: Some("pw".into()), database: 2, client_name: Some("app".into()), ..ConnectionSettings::default() };
        assert_eq!(text(settings.set_up_commands()), ["AUTH pw", "SELECT 2", "CLIENT SETNAME app"]);
        let resp3 = ConnectionSettings { protocol: 3, username: Some("u".into()), password: Some("pw".into()), ..ConnectionSettings::default() };
        assert_eq!(text(resp3.set_up_commands()), ["HELLO 3 AUTH u pw"]);
        let replica = ConnectionSettings { database: 1, extra_set_up: vec![vec![b"READONLY".to_vec()]], ..ConnectionSettings::default() };
        assert_eq!(text(replica.set_up_commands()), ["SELECT 1", "READONLY"]);
        let flags = ConnectionSettings { no_evict: true, no_touch: true, client_name: Some("app".into()), ..ConnectionSettings::default() };
        assert_eq!(text(flags.set_up_commands()), ["CLIENT SETNAME app", "CLIENT NO-EVICT on", "CLIENT NO-TOUCH on"]);
    }
}
