//! Redis Cluster's key space: the hash slot of a key (CRC16 of the key or of its `{hash tag}`,
//! modulo 16384) and the map from slots to the shard that serves them, read from `CLUSTER SHARDS`
//! or, on servers older than 7.0, `CLUSTER SLOTS`.

use crate::client::Value;

/// The number of hash slots of a Redis Cluster.
pub const SLOTS: usize = 16384;

/// A node's address, `host:port`.
pub type Addr = String;

/// The slot a key belongs to. Only the part between the first `{` and the next `}` is hashed
/// when that part is not empty, so `{user:1}:name` and `{user:1}:mail` share a slot.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = hash_tag(key).unwrap_or(key);
    crc16(hashed) % SLOTS as u16
}

fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let rest = &key[open + 1..];
    let close = rest.iter().position(|&b| b == b'}')?;
    (close > 0).then(|| &rest[..close])
}

/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum Redis Cluster hashes
/// keys with. Bit by bit: keys are short and the client hashes each once.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= (byte as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// A master and the replicas that copy it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    pub master: Addr,
    pub replicas: Vec<Addr>,
}

/// Which shard serves each slot.
#[derive(Clone, Debug)]
pub struct SlotMap {
    shards: Vec<Shard>,
    /// Index into `shards` per slot; `NONE` for a slot no node serves.
    owners: Vec<u16>,
}

const NONE: u16 = u16::MAX;

impl Default for SlotMap {
    fn default() -> Self {
        SlotMap { shards: Vec::new(), owners: vec![NONE; SLOTS] }
    }
}

impl SlotMap {
    /// The shard serving `slot`, if the map knows one.
    pub fn shard(&self, slot: u16) -> Option<&Shard> {
        let owner = *self.owners.get(slot as usize)?;
        self.shards.get(owner as usize)
    }

    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// Records that `master` serves `slot` now (a MOVED redirection), keeping the replicas it is
    /// known to have.
    pub fn set_owner(&mut self, slot: u16, master: &str) {
        let index = match self.shards.iter().position(|s| s.master == master) {
            Some(index) => index,
            None => {
                self.shards.push(Shard { master: master.to_string(), replicas: Vec::new() });
                self.shards.len() - 1
            }
        };
        if let Some(owner) = self.owners.get_mut(slot as usize) {
            *owner = index as u16;
        }
    }

    fn assign(&mut self, shard: Shard, ranges: &[(i64, i64)]) {
        let index = self.shards.len() as u16;
        self.shards.push(shard);
        for &(start, end) in ranges {
            let (start, end) = (start.clamp(0, SLOTS as i64 - 1) as usize, end.clamp(0, SLOTS as i64 - 1) as usize);
            for owner in self.owners.iter_mut().take(end + 1).skip(start) {
                *owner = index;
            }
        }
    }

    /// The map `CLUSTER SHARDS` describes (Redis 7.0+): per shard its slot ranges and its nodes
    /// with their role and health. Nodes that are not online are left out of the replicas. A
    /// `tls` client is sent to each node's `tls-port` (a node lists its plain `port` beside it
    /// when it has both).
    pub fn from_shards(reply: &Value, tls: bool) -> Result<SlotMap, String> {
        let (Value::Array(shards) | Value::Set(shards)) = reply else { return Err(format!("CLUSTER SHARDS answered {reply:?}")) };
        let mut map = SlotMap::default();
        for shard in shards {
            let fields = pairs(shard).ok_or_else(|| format!("a CLUSTER SHARDS entry is not a map: {shard:?}"))?;
            let bounds = field(&fields, "slots").and_then(integers).unwrap_or_default();
            let ranges: Vec<(i64, i64)> = bounds.chunks_exact(2).map(|c| (c[0], c[1])).collect();
            let nodes = match field(&fields, "nodes") {
                Some(Value::Array(nodes)) => nodes.as_slice(),
                _ => &[],
            };
            let mut master = None;
            let mut replicas = Vec::new();
            for node in nodes {
                let Some(node) = pairs(node) else { continue };
                let Some(addr) = shard_node_addr(&node, tls) else { continue };
                match text(field(&node, "role")).as_deref() {
                    Some("master") => master = Some(addr),
                    _ if text(field(&node, "health")).as_deref() == Some("online") => replicas.push(addr),
                    _ => {}
                }
            }
            if let (Some(master), false) = (master, ranges.is_empty()) {
                map.assign(Shard { master, replicas }, &ranges);
            }
        }
        map.check()
    }

    /// The map `CLUSTER SLOTS` describes (older servers): per slot range, the master's address
    /// then the replicas'.
    pub fn from_slots(reply: &Value) -> Result<SlotMap, String> {
        let Value::Array(ranges) = reply else { return Err(format!("CLUSTER SLOTS answered {reply:?}")) };
        let mut map = SlotMap::default();
        for range in ranges {
            let Value::Array(items) = range else { continue };
            let (Some(Value::Int(start)), Some(Value::Int(end))) = (items.first(), items.get(1)) else { continue };
            let mut nodes = items.iter().skip(2).filter_map(slots_node_addr);
            let Some(master) = nodes.next() else { continue };
            let shard = Shard { master, replicas: nodes.collect() };
            match map.shards.iter().position(|s| *s == shard) {
                Some(index) => {
                    for slot in (*start).max(0)..=(*end).min(SLOTS as i64 - 1) {
                        map.owners[slot as usize] = index as u16;
                    }
                }
                None => map.assign(shard, &[(*start, *end)]),
            }
        }
        map.check()
    }

    fn check(self) -> Result<SlotMap, String> {
        if self.shards.is_empty() {
            return Err("the cluster serves no slots yet (is it created? redis-cli --cluster create ...)".into());
        }
        Ok(self)
    }
}

/// A map's entries, whether RESP3 sent a map or RESP2 a flat array of names and values.
fn pairs(value: &Value) -> Option<Vec<(String, &Value)>> {
    match value {
        Value::Map(entries) => Some(entries.iter().filter_map(|(k, v)| Some((text(Some(k))?, v))).collect()),
        Value::Array(items) => Some(items.chunks_exact(2).filter_map(|c| Some((text(Some(&c[0]))?, &c[1]))).collect()),
        _ => None,
    }
}

fn field<'a>(fields: &[(String, &'a Value)], name: &str) -> Option<&'a Value> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
}

fn text(value: Option<&Value>) -> Option<String> {
    value?.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned())
}

fn integers(value: &Value) -> Option<Vec<i64>> {
    let Value::Array(items) = value else { return None };
    items.iter().map(|v| if let Value::Int(n) = v { Some(*n) } else { None }).collect()
}

/// A `CLUSTER SHARDS` node's address: its endpoint (the address clients are told to use), else
/// its IP; `?` or an empty endpoint means unknown. The port is `tls-port` for a TLS client when
/// the node has one.
fn shard_node_addr(node: &[(String, &Value)], tls: bool) -> Option<Addr> {
    let tls_port = if tls { field(node, "tls-port") } else { None };
    let Some(Value::Int(port)) = tls_port.or_else(|| field(node, "port")) else { return None };
    let host = text(field(node, "endpoint")).filter(|e| !e.is_empty() && e != "?").or_else(|| text(field(node, "ip")))?;
    Some(addr(&host, *port))
}

fn slots_node_addr(node: &Value) -> Option<Addr> {
    let Value::Array(items) = node else { return None };
    let (Some(host), Some(Value::Int(port))) = (text(items.first()), items.get(1)) else { return None };
    (!host.is_empty() && host != "?").then(|| addr(&host, *port))
}

fn addr(host: &str, port: i64) -> Addr {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// Splits `host:port` (`[v6]:port` too).
pub fn split_addr(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn slots_match_redis() {
        // Values from redis-cli CLUSTER KEYSLOT.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(hash_tag(b"foo{}{bar}"), None);
        assert_eq!(hash_tag(b"foo{{bar}}zap"), Some(&b"{bar"[..]));
        assert_eq!(hash_tag(b"foo{bar}{zap}"), Some(&b"bar"[..]));
    }

    #[test]
    fn shards_reply() {
        let node = |port: i64, role: &str, health: &str| {
            Value::Array(vec![
                bulk("id"), bulk("x"), bulk("port"), Value::Int(port), bulk("ip"), bulk("127.0.0.1"),
                bulk("endpoint"), bulk("127.0.0.1"), bulk("role"), bulk(role), bulk("health"), bulk(health),
            ])
        };
        let shard = |slots: Vec<i64>, nodes: Vec<Value>| {
            Value::Array(vec![bulk("slots"), Value::Array(slots.into_iter().map(Value::Int).collect()), bulk("nodes"), Value::Array(nodes)])
        };
        let reply = Value::Array(vec![
            shard(vec![0, 5460, 10923, 10923], vec![node(7000, "master", "online"), node(7003, "replica", "online")]),
            shard(vec![5461, 10922, 10924, 16383], vec![node(7004, "replica", "failed"), node(7001, "master", "online")]),
        ]);
        let map = SlotMap::from_shards(&reply, false).unwrap();
        assert_eq!(map.shard(0).unwrap().master, "127.0.0.1:7000");
        assert_eq!(map.shard(0).unwrap().replicas, ["127.0.0.1:7003"]);
        assert_eq!(map.shard(10923).unwrap().master, "127.0.0.1:7000");
        assert_eq!(map.shard(10924).unwrap().master, "127.0.0.1:7001");
        assert!(map.shard(5461).unwrap().replicas.is_empty());
        // A node with both ports: a TLS client goes to `tls-port`, a plain one to `port`.
        let both = Value::Array(vec![
            bulk("id"), bulk("x"), bulk("port"), Value::Int(7000), bulk("tls-port"), Value::Int(8000), bulk("ip"), bulk("127.0.0.1"),
            bulk("role"), bulk("master"), bulk("health"), bulk("online"),
        ]);
        let reply = Value::Array(vec![shard(vec![0, 16383], vec![both])]);
        assert_eq!(SlotMap::from_shards(&reply, true).unwrap().shard(0).unwrap().master, "127.0.0.1:8000");
        assert_eq!(SlotMap::from_shards(&reply, false).unwrap().shard(0).unwrap().master, "127.0.0.1:7000");
    }

    #[test]
    fn slots_reply_and_moves() {
        let node = |port: i64| Value::Array(vec![bulk("127.0.0.1"), Value::Int(port), bulk("id")]);
        let reply = Value::Array(vec![
            Value::Array(vec![Value::Int(0), Value::Int(8191), node(7000), node(7003)]),
            Value::Array(vec![Value::Int(8192), Value::Int(16383), node(7001)]),
        ]);
        let mut map = SlotMap::from_slots(&reply).unwrap();
        assert_eq!(map.shard(8191).unwrap().replicas, ["127.0.0.1:7003"]);
        assert_eq!(map.shard(8192).unwrap().master, "127.0.0.1:7001");
        map.set_owner(8191, "127.0.0.1:7001");
        assert_eq!(map.shard(8191).unwrap().master, "127.0.0.1:7001");
        assert!(SlotMap::from_slots(&Value::Array(vec![])).is_err());
        assert_eq!(split_addr("[::1]:7000"), Some(("::1".into(), 7000)));
    }
}
