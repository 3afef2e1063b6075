//! ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD: sorted sets combined with WEIGHTS and
//! AGGREGATE SUM|MIN|MAX. Plain sets are accepted as inputs, every member scoring 1, as in Redis.

use super::{Ctx, SYNTAX_ERROR, WRONG_TYPE, Zset, is, limits, parse_i64, parse_score, store_or_delete, write_elements};
use crate::commands::NOT_AN_INTEGER;
use crate::keyspace::{Set, zset_order as compare};
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq)]
enum Operation {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Folds `value` into `target` as Redis's `zunionInterAggregate` does: a sum that is NaN
    /// (infinities of both signs) becomes 0; MIN and MAX keep the target over a NaN.
    fn fold(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => *target = if value < *target { value } else { *target },
            Aggregate::Max => *target = if value > *target { value } else { *target },
        }
    }
}

/// An input: a sorted set, or a set whose members all score 1.
#[derive(Clone, Copy)]
enum Source<'a> {
    Sorted(&'a Zset),
    Plain(&'a Set),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Sorted(zset) => zset.len(),
            Source::Plain(set) => set.len(),
        }
    }

    fn elements(&self) -> Vec<(Vec<u8>, f64)> {
        match self {
            Source::Sorted(zset) => zset.range(0, zset.len(), false),
            Source::Plain(set) => set.members().into_iter().map(|m| (m, 1.0)).collect(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Sorted(zset) => zset.score(member),
            Source::Plain(set) => set.contains(member).then_some(1.0),
        }
    }
}

/// What the command line asked for.
struct Request<'a> {
    keys: &'a [&'a [u8]],
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT (0: none).
    limit: usize,
    /// Keys the union's member table, so clients cannot choose members that collide.
    seed: u64,
}

/// The command's form: its name (for errors), whether it stores, whether it only counts.
#[derive(Clone, Copy)]
struct Form {
    name: &'static str,
    store: bool,
    count_only: bool,
}

/// Reads `numkeys key [key ...]` from `args` (numkeys first) and checks the keys' types, as
/// `zunionInterDiffGenericCommand` does, before the options.
fn parse_keys<'a>(ctx: &mut Ctx, args: &'a [&'a [u8]], form: Form) -> Option<&'a [&'a [u8]]> {
    let Some(numkeys) = parse_i64(args[0]) else {
        ctx.reply.error(NOT_AN_INTEGER);
        return None;
    };
    if numkeys < 1 {
        ctx.reply.error(&format!("ERR at least 1 input key is needed for '{}' command", form.name));
        return None;
    }
    let Some(keys) = usize::try_from(numkeys).ok().and_then(|n| args.get(1..=n)) else {
        ctx.reply.error(SYNTAX_ERROR);
        return None;
    };
    let (db, now) = (ctx.db(), ctx.now_ms());
    for key in keys {
        let entry = if form.store { ctx.keyspace.get_mut(db, key, now).map(|e| &*e) } else { ctx.keyspace.get(db, key, now) };
        if entry.is_some_and(|e| e.value.as_zset().is_none() && e.value.as_set().is_none()) {
            ctx.reply.error(WRONG_TYPE);
            return None;
        }
    }
    Some(keys)
}

fn parse_request<'a>(ctx: &mut Ctx, args: &'a [&'a [u8]], operation: Operation, form: Form) -> Option<Request<'a>> {
    let keys = parse_keys(ctx, args, form)?;
    let seed = ctx.rng.next_u64();
    let mut request = Request { keys, weights: vec![1.0; keys.len()], aggregate: Aggregate::Sum, withscores: false, limit: 0, seed };
    let options = &args[keys.len() + 1..];
    let mut at = 0;
    while let Some(option) = options.get(at) {
        let left = options.len() - at - 1;
        let weighted = operation != Operation::Diff && !form.count_only;
        if weighted && left >= keys.len() && is(option, "WEIGHTS") {
            for (weight, arg) in request.weights.iter_mut().zip(&options[at + 1..]) {
                let Some(value) = parse_score(arg) else {
                    ctx.reply.error("ERR weight value is not a float");
                    return None;
                };
                *weight = value;
            }
            at += keys.len() + 1;
        } else if weighted && left >= 1 && is(option, "AGGREGATE") {
            request.aggregate = match options[at + 1].to_ascii_lowercase().as_slice() {
                b"sum" => Aggregate::Sum,
                b"min" => Aggregate::Min,
                b"max" => Aggregate::Max,
                _ => {
                    ctx.reply.error(SYNTAX_ERROR);
                    return None;
                }
            };
            at += 2;
        } else if !form.store && !form.count_only && is(option, "WITHSCORES") {
            request.withscores = true;
            at += 1;
        } else if form.count_only && left >= 1 && is(option, "LIMIT") {
            let Some(limit) = parse_i64(options[at + 1]).and_then(|l| usize::try_from(l).ok()) else {
                ctx.reply.error("ERR LIMIT can't be negative");
                return None;
            };
            request.limit = limit;
            at += 2;
        } else {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        }
    }
    Some(request)
}

/// The inputs at the request's keys (checked by [`parse_keys`]); `None` for a missing key.
fn sources<'a>(ctx: &'a Ctx, keys: &[&[u8]]) -> Vec<Option<Source<'a>>> {
    let db = ctx.db();
    let source = |key: &[u8]| {
        let value = &ctx.keyspace.stored(db, key)?.value;
        value.as_zset().map(Source::Sorted).or_else(|| value.as_set().map(Source::Plain))
    };
    keys.iter().map(|key| source(key)).collect()
}

/// A weighted score, a NaN (0 times infinity) counting as 0, as Redis counts it.
fn weighted(score: f64, weight: f64) -> f64 {
    let value = score * weight;
    if value.is_nan() { 0.0 } else { value }
}

fn union(sources: &[Option<Source>], request: &Request) -> Vec<(Vec<u8>, f64)> {
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut at: HashMap<Vec<u8>, usize, foldhash::fast::FixedState> = HashMap::with_hasher(foldhash::fast::FixedState::with_seed(request.seed));
    for (source, weight) in sources.iter().zip(&request.weights) {
        let Some(source) = source else { continue };
        for (member, score) in source.elements() {
            let score = weighted(score, *weight);
            match at.get(&member) {
                Some(&i) => request.aggregate.fold(&mut result[i].1, score),
                None => {
                    at.insert(member.clone(), result.len());
                    result.push((member, score));
                }
            }
        }
    }
    result
}

/// The intersection, walking the smallest input; stops after `limit` elements (0: none).
fn intersection(sources: &[Option<Source>], request: &Request, limit: usize) -> Vec<(Vec<u8>, f64)> {
    let Some(inputs) = sources.iter().zip(&request.weights).map(|(s, w)| s.map(|s| (s, *w))).collect::<Option<Vec<_>>>() else {
        return Vec::new();
    };
    let mut inputs = inputs;
    inputs.sort_by_key(|(source, _)| source.len());
    let Some(((smallest, first_weight), others)) = inputs.split_first() else { return Vec::new() };
    let mut result = Vec::new();
    'members: for (member, score) in smallest.elements() {
        if limit != 0 && result.len() >= limit {
            break;
        }
        let mut total = weighted(score, *first_weight);
        for (other, weight) in others {
            let Some(score) = other.score(&member) else { continue 'members };
            request.aggregate.fold(&mut total, score * weight);
        }
        result.push((member, total));
    }
    result
}

fn difference(sources: &[Option<Source>]) -> Vec<(Vec<u8>, f64)> {
    let Some((Some(first), others)) = sources.split_first() else { return Vec::new() };
    let mut kept = first.elements();
    kept.retain(|(member, _)| !others.iter().flatten().any(|other| other.score(member).is_some()));
    kept
}

/// The shared body of the commands here; `args` start at numkeys.
fn combine(ctx: &mut Ctx, args: &[&[u8]], operation: Operation, form: Form, destination: Option<&[u8]>) {
    let Some(request) = parse_request(ctx, args, operation, form) else { return };
    // Each source is read as Redis reads it: a hit or a miss (with its `keymiss` event), an
    // expired one removed.
    let (db, now) = (ctx.db(), ctx.now_ms());
    for key in request.keys {
        ctx.keyspace.get(db, key, now);
    }
    let inputs = sources(ctx, request.keys);
    if form.count_only {
        let found = intersection(&inputs, &request, request.limit).len();
        return ctx.reply.integer(found as i64);
    }
    let mut result = match operation {
        Operation::Union => union(&inputs, &request),
        Operation::Inter => intersection(&inputs, &request, 0),
        Operation::Diff => difference(&inputs),
    };
    match destination {
        Some(destination) => {
            let limits = limits(ctx);
            let count = result.len();
            let event = match operation {
                Operation::Union => "zunionstore",
                Operation::Inter => "zinterstore",
                Operation::Diff => "zdiffstore",
            };
            store_or_delete(ctx, destination, Zset::from_elements(result, &limits), event);
            ctx.reply.integer(count as i64);
        }
        None => {
            result.sort_by(|a, b| compare((a.1, &a.0), (b.1, &b.0)));
            write_elements(ctx, &result, request.withscores);
        }
    }
}

const fn form(name: &'static str, store: bool) -> Form {
    Form { name, store, count_only: false }
}

pub(super) fn zunion(ctx: &mut Ctx, args: &[&[u8]]) {
    combine(ctx, &args[1..], Operation::Union, form("zunion", false), None);
}

pub(super) fn zinter(ctx: &mut Ctx, args: &[&[u8]]) {
    combine(ctx, &args[1..], Operation::Inter, form("zinter", false), None);
}

pub(super) fn zdiff(ctx: &mut Ctx, args: &[&[u8]]) {
    combine(ctx, &args[1..], Operation::Diff, form("zdiff", false), None);
}

pub(super) fn zunionstore(ctx: &mut Ctx, args: &[&[u8]]) {
    combine(ctx, &args[2..], Operation::Union, form("zunionstore", true), Some(args[1]));
}

pub(super) fn zinterstore(ctx: &mut Ctx, args: &[&[u8]]) {
    combine(ctx, &args[2..], Operation::Inter, form("zinterstore", true), Some(args[1]));
}

pub(super) fn zdiffstore(ctx: &mut Ctx, args: &[&[u8]]) {
    combine(ctx, &args[2..], Operation::Diff, form("zdiffstore", true), Some(args[1]));
}

pub(super) fn zintercard(ctx: &mut Ctx, args: &[&[u8]]) {
    combine(ctx, &args[1..], Operation::Inter, Form { name: "zintercard", store: false, count_only: true }, None);
}
