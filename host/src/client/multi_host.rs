//! URLs that name several servers — `redis+cluster://` seeds, `redis+sentinel://` sentinels:
//! `scheme://[user:password@]host:port[,host:port...][/path][?options]`. They are split here into
//! what each server's plain `redis://` URL is made of, so [`super::ClientConfig::parse`] gives the
//! shared options the meaning they have for one server.

use super::{Error, ErrorKind};

/// A multi-server URL, split.
pub(super) struct MultiHost<'a> {
    /// `user:password@`, or empty.
    pub userinfo: String,
    pub hosts: Vec<&'a str>,
    /// From the first `/` on, without the query.
    pub path: &'a str,
    /// The query's `name=value` pairs, in order.
    pub options: Vec<(&'a str, &'a str)>,
    /// The URL's scheme was the TLS one: each server's URL is `rediss://`.
    pub tls: bool,
}

impl<'a> MultiHost<'a> {
    /// Splits `url`, whose scheme must be `scheme` or `tls_scheme`; `example` shows the right form
    /// in the errors.
    pub fn split(url: &'a str, scheme: &str, tls_scheme: &str, example: &str) -> Result<MultiHost<'a>, Error> {
        let (rest, tls) = match (url.strip_prefix(scheme), url.strip_prefix(tls_scheme)) {
            (Some(rest), _) => (rest, false),
            (None, Some(rest)) => (rest, true),
            (None, None) => return Err(invalid(&format!("'{url}' is not a {scheme} URL: write {example}"))),
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
            None => (String::new(), authority),
        };
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let options = query.split('&').filter(|p| !p.is_empty()).map(|pair| pair.split_once('=').unwrap_or((pair, ""))).collect();
        let hosts = hosts.split(',').filter(|h| !h.is_empty()).collect();
        Ok(MultiHost { userinfo, hosts, path, options, tls })
    }

    /// The scheme of each server's own URL.
    pub fn server_scheme(&self) -> &'static str {
        if self.tls { "rediss" } else { "redis" }
    }

    /// The query of the options `keep` accepts, for a one-server URL: `?a=1&b=2`, or empty.
    pub fn query(&self, keep: impl Fn(&str) -> bool) -> String {
        let kept: Vec<String> = self.options.iter().filter(|(name, _)| keep(name)).map(|(name, value)| format!("{name}={value}")).collect();
        if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) }
    }
}

pub(super) fn invalid(message: &str) -> Error {
    Error::new(ErrorKind::Invalid, message)
}

pub(super) fn boolean(name: &str, value: &str) -> Result<bool, Error> {
    match value {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(invalid(&format!("{name}={value} in the URL: use true or false"))),
    }
}
