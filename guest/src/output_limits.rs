//! `client-output-buffer-limit`: how much output a client that does not read may leave waiting
//! before the server closes it, per class of client, in Redis's syntax and with Redis's defaults.
//!
//! A limit is a hard size (closed as soon as the waiting output reaches it), a soft size and a
//! number of seconds (closed once the output has stayed at or above the soft size for longer than
//! that). 0 turns a size off.

/// The classes a limit is set for. Redis has a fourth, `master`, which is not configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClass {
    Normal,
    /// Replicas; cachet has none, but the setting is kept and shown as Redis does.
    Replica,
    /// Clients with at least one subscription, RESP2 or RESP3 alike, as in Redis 7.
    PubSub,
}

impl ClientClass {
    pub fn name(self) -> &'static str {
        match self {
            ClientClass::Normal => "normal",
            ClientClass::Replica => "slave",
            ClientClass::PubSub => "pubsub",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_seconds: u64,
}

impl Limit {
    /// Whether `pending` bytes reach the hard limit.
    pub fn hard_reached(&self, pending: u64) -> bool {
        self.hard_bytes > 0 && pending >= self.hard_bytes
    }

    /// Whether `pending` bytes reach the soft limit.
    pub fn soft_reached(&self, pending: u64) -> bool {
        self.soft_bytes > 0 && pending >= self.soft_bytes
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    pub normal: Limit,
    pub replica: Limit,
    pub pubsub: Limit,
}

impl Default for OutputLimits {
    /// Redis's defaults: `normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60`.
    fn default() -> Self {
        OutputLimits {
            normal: Limit { hard_bytes: 0, soft_bytes: 0, soft_seconds: 0 },
            replica: Limit { hard_bytes: 256 << 20, soft_bytes: 64 << 20, soft_seconds: 60 },
            pubsub: Limit { hard_bytes: 32 << 20, soft_bytes: 8 << 20, soft_seconds: 60 },
        }
    }
}

const WRONG_ARGUMENTS: &str = "Wrong number of arguments in buffer limit configuration.";
const INVALID_CLASS: &str = "Invalid client class specified in buffer limit configuration.";
const INVALID_VALUE: &str = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";

impl OutputLimits {
    pub fn of(&self, class: ClientClass) -> &Limit {
        match class {
            ClientClass::Normal => &self.normal,
            ClientClass::Replica => &self.replica,
            ClientClass::PubSub => &self.pubsub,
        }
    }

    fn of_mut(&mut self, class: ClientClass) -> &mut Limit {
        match class {
            ClientClass::Normal => &mut self.normal,
            ClientClass::Replica => &mut self.replica,
            ClientClass::PubSub => &mut self.pubsub,
        }
    }

    /// CONFIG GET's canonical form: every class, sizes in bytes.
    pub fn describe(&self) -> String {
        [ClientClass::Normal, ClientClass::Replica, ClientClass::PubSub]
            .iter()
            .map(|class| {
                let limit = self.of(*class);
                format!("{} {} {} {}", class.name(), limit.hard_bytes, limit.soft_bytes, limit.soft_seconds)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Applies `class hard soft seconds` groups, as CONFIG SET and the configuration file give
    /// them. Classes not named keep their limits; nothing changes when any group is invalid.
    /// Words are separated by single spaces, as Redis splits them: an empty text changes nothing.
    pub fn apply(&mut self, text: &str) -> Result<(), String> {
        if text.is_empty() {
            return Ok(());
        }
        let words: Vec<&str> = text.split(' ').collect();
        if !words.len().is_multiple_of(4) {
            return Err(WRONG_ARGUMENTS.into());
        }
        let mut updated = *self;
        for group in words.chunks(4) {
            let class = match group[0].to_ascii_lowercase().as_str() {
                "normal" => ClientClass::Normal,
                "slave" | "replica" => ClientClass::Replica,
                "pubsub" => ClientClass::PubSub,
                _ => return Err(INVALID_CLASS.into()),
            };
            let hard_bytes = memory_size(group[1]).ok_or(INVALID_VALUE)?;
            let soft_bytes = memory_size(group[2]).ok_or(INVALID_VALUE)?;
            let soft_seconds = group[3].parse::<i64>().ok().and_then(|s| u64::try_from(s).ok()).ok_or(INVALID_VALUE)?;
            *updated.of_mut(class) = Limit { hard_bytes, soft_bytes, soft_seconds };
        }
        *self = updated;
        Ok(())
    }
}

/// A size as Redis's `memtoull` reads it: digits and an optional unit (`b`, `k`, `kb`, `m`, `mb`,
/// `g`, `gb`, any case). Digits past the range of the type saturate, as `strtoull` does.
fn memory_size(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return None;
    }
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let number = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(number.saturating_mul(multiplier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_canonical_form_are_redis_ones() {
        assert_eq!(OutputLimits::default().describe(), "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    }

    #[test]
    fn groups_change_only_their_class_and_units_are_read_as_redis_reads_them() {
        let mut limits = OutputLimits::default();
        limits.apply("pubsub 1mb 512kb 60").unwrap();
        assert_eq!(limits.describe(), "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 60");
        limits.apply("replica 1k 2K 5 PUBSUB 1gb 1b 1").unwrap();
        assert_eq!(limits.describe(), "normal 0 0 0 slave 1000 2000 5 pubsub 1073741824 1 1");
        limits.apply("").unwrap();
        limits.apply("pubsub 99999999999999999999 1 1").unwrap();
        assert_eq!(limits.pubsub.hard_bytes, u64::MAX);
    }

    #[test]
    fn invalid_groups_change_nothing_and_say_why_in_redis_words() {
        let mut limits = OutputLimits::default();
        let cases = [
            ("normal 1 2", WRONG_ARGUMENTS),
            ("normal  5 5 5", WRONG_ARGUMENTS),
            (" pubsub 7 7 7", WRONG_ARGUMENTS),
            ("normal 1 2 3 foo 1 1 1", INVALID_CLASS),
            ("master 1 2 3", INVALID_CLASS),
            ("pubsub 1x 2 3", INVALID_VALUE),
            ("pubsub -1 2 3", INVALID_VALUE),
            ("pubsub 1.5mb 1 1", INVALID_VALUE),
            ("pubsub 1 2 -3", INVALID_VALUE),
            ("pubsub 1 2 3abc", INVALID_VALUE),
            ("pubsub 1 2 99999999999999999999", INVALID_VALUE),
        ];
        for (text, error) in cases {
            assert_eq!(limits.apply(text), Err(error.to_string()), "{text:?}");
        }
        assert_eq!(limits, OutputLimits::default());
    }
}
