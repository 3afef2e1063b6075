//! Lists: a double-ended queue of packed nodes, as Redis's quicklist of listpacks.
//!
//! Elements are stored back to back in byte buffers ("nodes") of at most `list-max-listpack-size`
//! (by default 8 KiB), each with the length of every element: two bytes of bookkeeping per
//! element instead of a pointer and an allocation. Pushing and popping at either end touch one
//! node; an element in the middle is found by skipping whole nodes by their counts, then within
//! one bounded node. An element larger than a node gets a node of its own.

use std::collections::VecDeque;

/// How big one packed node may grow, from `list-max-listpack-size`: a negative setting is a byte
/// size class (-1: 4 KiB ... -5: 64 KiB), a positive one a count of elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

impl ListLimits {
    pub fn from_setting(size: i64) -> Self {
        match size {
            n if n > 0 => ListLimits { max_bytes: u16::MAX as usize, max_entries: n as usize },
            n => {
                let class = n.unsigned_abs().clamp(1, 5) as u32;
                ListLimits { max_bytes: 4096 << (class - 1), max_entries: usize::MAX }.capped()
            }
        }
    }

    /// Offsets are two bytes: a packed node never grows past 64 KiB.
    fn capped(mut self) -> Self {
        self.max_bytes = self.max_bytes.min(u16::MAX as usize);
        self
    }
}

impl Default for ListLimits {
    fn default() -> Self {
        ListLimits::from_setting(-2)
    }
}

#[derive(Clone, PartialEq, Eq)]
enum Node {
    Packed(Packed),
    /// One element too large for a packed node.
    Big(Box<[u8]>),
}

/// Elements back to back in `bytes[head..]`, with each one's length. The room left before
/// `head` takes pushes at the front without moving the others, so both ends cost O(1) (amortized).
#[derive(Clone, PartialEq, Eq)]
struct Packed {
    bytes: Vec<u8>,
    head: usize,
    lens: VecDeque<u16>,
}

impl Packed {
    fn new(element: &[u8]) -> Packed {
        Packed { bytes: element.to_vec(), head: 0, lens: VecDeque::from([element.len() as u16]) }
    }

    fn live_bytes(&self) -> usize {
        self.bytes.len() - self.head
    }

    /// Where element `index` starts, summing lengths from the nearer end.
    fn start_of(&self, index: usize) -> usize {
        if index <= self.lens.len() / 2 {
            self.head + self.lens.iter().take(index).map(|l| usize::from(*l)).sum::<usize>()
        } else {
            self.bytes.len() - self.lens.iter().skip(index).map(|l| usize::from(*l)).sum::<usize>()
        }
    }

    fn get(&self, index: usize) -> &[u8] {
        let start = self.start_of(index);
        &self.bytes[start..start + usize::from(self.lens[index])]
    }

    /// Elements `from..` in order, walking the lengths once.
    fn iter_from(&self, from: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let mut at = self.start_of(from);
        self.lens.iter().skip(from).map(move |len| {
            let element = &self.bytes[at..at + usize::from(*len)];
            at += usize::from(*len);
            element
        })
    }

    /// Calls `visit` with at most `max` elements from `from` on; returns how many it visited.
    fn visit_from(&self, from: usize, max: usize, visit: &mut impl FnMut(&[u8])) -> usize {
        let mut at = self.start_of(from);
        let (front, back) = self.lens.as_slices();
        let mut visited = 0;
        for &len in front.iter().chain(back).skip(from).take(max) {
            let end = at + usize::from(len);
            visit(&self.bytes[at..end]);
            at = end;
            visited += 1;
        }
        visited
    }

    /// Every element from the last, walking the lengths once.
    fn iter_rev(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut end = self.bytes.len();
        self.lens.iter().rev().map(move |len| {
            end -= usize::from(*len);
            &self.bytes[end..end + usize::from(*len)]
        })
    }

    fn push_back(&mut self, element: &[u8]) {
        // Small growth steps: a node's spare room stays a small part of it.
        if self.bytes.capacity() - self.bytes.len() < element.len() {
            self.bytes.reserve_exact(element.len().max(self.bytes.capacity() / 8).max(16));
        }
        self.bytes.extend_from_slice(element);
        self.lens.push_back(element.len() as u16);
    }

    fn push_front(&mut self, element: &[u8]) {
        if self.head < element.len() {
            // Move the elements back, leaving as much room in front as they take.
            let live = self.live_bytes();
            let gap = element.len().max(live).max(16);
            let mut bytes = Vec::with_capacity(gap + live);
            bytes.resize(gap, 0);
            bytes.extend_from_slice(&self.bytes[self.head..]);
            self.bytes = bytes;
            self.head = gap;
        }
        self.head -= element.len();
        self.bytes[self.head..self.head + element.len()].copy_from_slice(element);
        self.lens.push_front(element.len() as u16);
    }

    fn pop_front(&mut self) -> Vec<u8> {
        let len = usize::from(self.lens.pop_front().unwrap_or(0));
        let element = self.bytes[self.head..self.head + len].to_vec();
        self.head += len;
        element
    }

    fn pop_back(&mut self) -> Vec<u8> {
        let len = usize::from(self.lens.pop_back().unwrap_or(0));
        let start = self.bytes.len() - len;
        let element = self.bytes[start..].to_vec();
        self.bytes.truncate(start);
        element
    }

    fn insert(&mut self, index: usize, element: &[u8]) {
        if index == 0 {
            return self.push_front(element);
        }
        if index >= self.lens.len() {
            return self.push_back(element);
        }
        let at = self.start_of(index);
        self.bytes.splice(at..at, element.iter().copied());
        self.lens.insert(index, element.len() as u16);
    }

    fn remove(&mut self, index: usize) -> Vec<u8> {
        if index == 0 {
            return self.pop_front();
        }
        if index + 1 == self.lens.len() {
            return self.pop_back();
        }
        let at = self.start_of(index);
        let len = usize::from(self.lens.remove(index).unwrap_or(0));
        self.bytes.drain(at..at + len).collect()
    }
}

impl Node {
    fn single(element: &[u8], limits: &ListLimits) -> Node {
        if element.len() > limits.max_bytes { Node::Big(element.into()) } else { Node::Packed(Packed::new(element)) }
    }

    fn len(&self) -> usize {
        match self {
            Node::Packed(packed) => packed.lens.len(),
            Node::Big(_) => 1,
        }
    }

    fn get(&self, index: usize) -> &[u8] {
        match self {
            Node::Packed(packed) => packed.get(index),
            Node::Big(element) => element,
        }
    }

    fn iter_rev(&self) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match self {
            Node::Packed(packed) => Box::new(packed.iter_rev()),
            Node::Big(element) => Box::new(std::iter::once(&element[..])),
        }
    }

    /// [`Packed::visit_from`] for any node.
    fn visit_from(&self, from: usize, max: usize, visit: &mut impl FnMut(&[u8])) -> usize {
        match self {
            Node::Packed(packed) => packed.visit_from(from, max, visit),
            Node::Big(element) if from == 0 && max > 0 => {
                visit(element);
                1
            }
            Node::Big(_) => 0,
        }
    }

    /// Elements `from..` of the node, in order.
    fn iter_from(&self, from: usize) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match self {
            Node::Packed(packed) => Box::new(packed.iter_from(from)),
            Node::Big(element) => Box::new(std::iter::once(&element[..]).skip(from)),
        }
    }

    /// Whether `element` fits in this node.
    fn has_room(&self, element: &[u8], limits: &ListLimits) -> bool {
        match self {
            Node::Packed(packed) => packed.live_bytes() + element.len() <= limits.max_bytes && packed.lens.len() < limits.max_entries,
            Node::Big(_) => false,
        }
    }

    /// Inserts `element` before position `index` (a node with room only).
    fn insert(&mut self, index: usize, element: &[u8]) {
        if let Node::Packed(packed) = self {
            packed.insert(index, element);
        }
    }

    fn push_front(&mut self, element: &[u8]) {
        if let Node::Packed(packed) = self {
            packed.push_front(element);
        }
    }

    fn push_back(&mut self, element: &[u8]) {
        if let Node::Packed(packed) = self {
            packed.push_back(element);
        }
    }

    /// Removes and returns the element at `index`.
    fn remove(&mut self, index: usize) -> Vec<u8> {
        match self {
            Node::Packed(packed) => packed.remove(index),
            Node::Big(element) => std::mem::take(element).into_vec(),
        }
    }

    fn pop_front(&mut self) -> Vec<u8> {
        match self {
            Node::Packed(packed) => packed.pop_front(),
            Node::Big(element) => std::mem::take(element).into_vec(),
        }
    }

    fn pop_back(&mut self) -> Vec<u8> {
        match self {
            Node::Packed(packed) => packed.pop_back(),
            Node::Big(element) => std::mem::take(element).into_vec(),
        }
    }

    /// Bytes of heap the node holds.
    fn heap_size(&self) -> usize {
        match self {
            Node::Packed(packed) => packed.bytes.capacity() + packed.lens.capacity() * 2,
            Node::Big(element) => element.len(),
        }
    }
}

/// A list value (LPUSH and friends).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
}

impl List {
    pub fn new() -> Self {
        List::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// OBJECT ENCODING: `listpack` while the list fits in one node, as Redis 7.2 converts.
    pub fn encoding(&self) -> &'static str {
        if self.nodes.len() <= 1 && !matches!(self.nodes.front(), Some(Node::Big(_))) { "listpack" } else { "quicklist" }
    }

    pub fn push_front(&mut self, element: &[u8], limits: &ListLimits) {
        match self.nodes.front_mut() {
            Some(node) if node.has_room(element, limits) => node.push_front(element),
            _ => self.nodes.push_front(Node::single(element, limits)),
        }
        self.len += 1;
    }

    pub fn push_back(&mut self, element: &[u8], limits: &ListLimits) {
        match self.nodes.back_mut() {
            Some(node) if node.has_room(element, limits) => node.push_back(element),
            _ => self.nodes.push_back(Node::single(element, limits)),
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.front_mut()?;
        let element = node.pop_front();
        if node.len() == 0 || matches!(node, Node::Big(_)) {
            self.nodes.pop_front();
        }
        self.len -= 1;
        Some(element)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.back_mut()?;
        let element = node.pop_back();
        if node.len() == 0 || matches!(node, Node::Big(_)) {
            self.nodes.pop_back();
        }
        self.len -= 1;
        Some(element)
    }

    /// The node holding element `index` and the element's position in it, walking from the
    /// nearer end.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        if index < self.len / 2 {
            let mut rest = index;
            for (n, node) in self.nodes.iter().enumerate() {
                if rest < node.len() {
                    return Some((n, rest));
                }
                rest -= node.len();
            }
        } else {
            let mut from_end = self.len - 1 - index;
            for (n, node) in self.nodes.iter().enumerate().rev() {
                if from_end < node.len() {
                    return Some((n, node.len() - 1 - from_end));
                }
                from_end -= node.len();
            }
        }
        None
    }

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let (node, at) = self.locate(index)?;
        Some(self.nodes[node].get(at))
    }

    /// Replaces element `index` (LSET); false when out of range.
    pub fn set(&mut self, index: usize, element: &[u8], limits: &ListLimits) -> bool {
        if index >= self.len {
            return false;
        }
        self.remove(index);
        self.insert(index, element, limits);
        true
    }

    /// Inserts `element` so that it becomes element `index` (0..=len).
    pub fn insert(&mut self, index: usize, element: &[u8], limits: &ListLimits) {
        if index == 0 {
            return self.push_front(element, limits);
        }
        if index >= self.len {
            return self.push_back(element, limits);
        }
        let Some((n, at)) = self.locate(index) else { return };
        if self.nodes[n].has_room(element, limits) {
            self.nodes[n].insert(at, element);
        } else {
            // Split the node at `at`: the new element starts the second half.
            let tail: Vec<Vec<u8>> = (at..self.nodes[n].len()).map(|_| self.nodes[n].remove(at)).collect();
            if self.nodes[n].len() == 0 {
                self.nodes.remove(n);
            }
            let start = if at == 0 { n } else { n + 1 };
            let mut half = List::default();
            half.push_back(element, limits);
            for item in &tail {
                half.push_back(item, limits);
            }
            for (i, node) in half.nodes.into_iter().enumerate() {
                self.nodes.insert(start + i, node);
            }
        }
        self.len += 1;
    }

    /// Removes and returns element `index`.
    pub fn remove(&mut self, index: usize) -> Option<Vec<u8>> {
        let (n, at) = self.locate(index)?;
        let element = self.nodes[n].remove(at);
        if self.nodes[n].len() == 0 || matches!(self.nodes[n], Node::Big(_)) {
            self.nodes.remove(n);
        }
        self.len -= 1;
        Some(element)
    }

    /// Calls `visit` with elements `start..end` in order: what LRANGE writes its reply from, node
    /// by node, without an iterator boxed per node.
    pub fn visit_range(&self, start: usize, end: usize, mut visit: impl FnMut(&[u8])) {
        let Some((first, mut at)) = self.locate(start) else { return };
        let mut left = end.min(self.len).saturating_sub(start);
        for node in self.nodes.range(first..) {
            if left == 0 {
                return;
            }
            left -= node.visit_from(at, left, &mut visit);
            at = 0;
        }
    }

    /// Every element, from the head.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.nodes.iter().flat_map(|node| node.iter_from(0))
    }

    /// Every element, from the tail.
    pub fn iter_rev(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.nodes.iter().rev().flat_map(|node| node.iter_rev())
    }

    /// Keeps elements `start..end` only (LTRIM): whole nodes outside are dropped at once, so
    /// trimming a long list costs a node's worth of moves at each end, not one per element.
    pub fn trim(&mut self, start: usize, end: usize) {
        let end = end.min(self.len);
        if start >= end {
            *self = List::default();
            return;
        }
        let mut extra = self.len - end;
        while extra > 0 {
            match self.nodes.back() {
                Some(node) if node.len() <= extra => {
                    extra -= node.len();
                    self.len -= node.len();
                    self.nodes.pop_back();
                }
                _ => {
                    self.pop_back();
                    extra -= 1;
                }
            }
        }
        let mut extra = start;
        while extra > 0 {
            match self.nodes.front() {
                Some(node) if node.len() <= extra => {
                    extra -= node.len();
                    self.len -= node.len();
                    self.nodes.pop_front();
                }
                _ => {
                    self.pop_front();
                    extra -= 1;
                }
            }
        }
    }

    /// Keeps the elements for which `keep` holds, in order (LREM), rebuilding the list once.
    pub fn retain(&mut self, limits: &ListLimits, mut keep: impl FnMut(usize, &[u8]) -> bool) {
        let mut kept = List::default();
        for (i, element) in self.iter().enumerate() {
            if keep(i, element) {
                kept.push_back(element, limits);
            }
        }
        *self = kept;
    }

    /// How many blocks freeing the list releases (lazy freeing decides by it).
    pub fn free_effort(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes the list occupies.
    pub fn memory_usage(&self) -> usize {
        std::mem::size_of::<List>() + self.nodes.capacity() * std::mem::size_of::<Node>() + self.nodes.iter().map(Node::heap_size).sum::<usize>()
    }

    /// The list's nodes, each freed when the iterator passes it (see `lazy_free`).
    pub fn into_pieces(self) -> Box<dyn Iterator<Item = ()>> {
        Box::new(self.nodes.into_iter().map(drop))
    }
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(String::from_utf8_lossy)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ListLimits {
        ListLimits { max_bytes: 16, max_entries: 4 }
    }

    fn items(list: &List) -> Vec<String> {
        list.iter().map(|e| String::from_utf8_lossy(e).into_owned()).collect()
    }

    #[test]
    fn pushes_and_pops_at_both_ends_across_nodes() {
        let limits = small();
        let mut list = List::new();
        for i in 0..10 {
            list.push_back(format!("b{i}").as_bytes(), &limits);
            list.push_front(format!("f{i}").as_bytes(), &limits);
        }
        assert_eq!(list.len(), 20);
        assert!(list.nodes.len() > 4, "split into bounded nodes");
        assert_eq!(list.get(0), Some(&b"f9"[..]));
        assert_eq!(list.get(19), Some(&b"b9"[..]));
        assert_eq!(list.get(10), Some(&b"b0"[..]));
        assert_eq!(list.pop_front(), Some(b"f9".to_vec()));
        assert_eq!(list.pop_back(), Some(b"b9".to_vec()));
        assert_eq!(visited(&list, 7, 11), [&b"f1"[..], b"f0", b"b0", b"b1"]);
        let big = vec![b'x'; 100];
        list.push_back(&big, &limits);
        assert_eq!(list.pop_back(), Some(big));
        assert_eq!(list.len(), 18);
    }

    fn visited(list: &List, start: usize, end: usize) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        list.visit_range(start, end, |element| seen.push(element.to_vec()));
        seen
    }

    #[test]
    fn every_range_visits_what_iterating_the_whole_list_gives() {
        let limits = ListLimits { max_entries: 3, max_bytes: 64 };
        let mut list = List::default();
        for i in 0..12 {
            list.push_back(format!("e{i}").as_bytes(), &limits);
            if i % 5 == 0 {
                list.push_front(&vec![b'b'; 100], &limits);
            }
        }
        let all: Vec<Vec<u8>> = list.iter().map(<[u8]>::to_vec).collect();
        for start in 0..=all.len() + 1 {
            for end in start..=all.len() + 2 {
                let expected = all.get(start..end.min(all.len())).unwrap_or_default();
                assert_eq!(visited(&list, start, end), expected, "range {start}..{end}");
            }
        }
    }

    #[test]
    fn insert_set_remove_and_trim_anywhere() {
        let limits = small();
        let mut list = List::new();
        for i in 0..8 {
            list.push_back(format!("{i}").as_bytes(), &limits);
        }
        list.insert(3, b"new", &limits);
        list.insert(3, b"again", &limits);
        assert_eq!(items(&list), ["0", "1", "2", "again", "new", "3", "4", "5", "6", "7"]);
        assert!(list.set(9, b"last", &limits));
        assert!(!list.set(10, b"x", &limits));
        assert_eq!(list.remove(4), Some(b"new".to_vec()));
        list.trim(2, 6);
        assert_eq!(items(&list), ["2", "again", "3", "4"]);
        list.trim(3, 3);
        assert!(list.is_empty() && list.nodes.is_empty());
    }

    #[test]
    fn limits_follow_redis_settings() {
        assert_eq!(ListLimits::from_setting(-2).max_bytes, 8192);
        assert_eq!(ListLimits::from_setting(-5).max_bytes, 65535);
        assert_eq!(ListLimits::from_setting(128).max_entries, 128);
    }
}
