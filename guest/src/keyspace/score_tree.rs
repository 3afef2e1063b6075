//! The `skiplist` encoding of a sorted set: a hashed table from member to score (ZSCORE in
//! constant time) beside a B+ tree of the elements in (score, member) order, whose branches count
//! the elements below each child. Finding a rank, the element at a rank, or where a score or lex
//! bound falls takes O(log n), as Redis's skip list with spans does, but a step down the tree
//! reads one small array of bounds instead of following one pointer per level and per element:
//! three or four steps reach any of a million elements, and a range is read from consecutive
//! slots of a leaf.
//!
//! A leaf holds an element as its score and the position (`slot`) of its member in the table, so
//! a member is stored once; a member's bytes are read only when scores tie. A branch keeps a copy
//! of one member per child (the bound that routes a search), a small cost per sixty-odd elements.

use super::Key;
use super::table::Table;
use super::zset::compare;
use foldhash::fast::FixedState;
use std::cmp::Ordering;

/// Elements in a full leaf.
const LEAF_CAPACITY: usize = 64;
/// Children of a full branch.
const BRANCH_CAPACITY: usize = 32;

pub struct Tree {
    members: Table<f64>,
    root: Node,
    seed: u64,
}

enum Node {
    Leaf(Box<Leaf>),
    Branch(Box<Branch>),
}

/// Elements in order: scores apart from slots, so a search reads only scores until they tie.
struct Leaf {
    len: usize,
    scores: [f64; LEAF_CAPACITY],
    slots: [u32; LEAF_CAPACITY],
}

/// A score and member between two children of a branch.
type Bound = (f64, Key);

/// Children in order, each with how many elements it holds. `bounds[i]` is above every element
/// of `children[i]` and at most the first element of `children[i + 1]`.
struct Branch {
    counts: Vec<u32>,
    children: Vec<Node>,
    bounds: Vec<Bound>,
}

/// What [`Node::take`] did with an element.
#[derive(PartialEq)]
enum Taken {
    /// The element is not in the node.
    Missing,
    /// The element is out of the node.
    Removed,
    /// The element moved to its new place in the same leaf; no count changed.
    MovedInLeaf,
}

/// The branch bounds around a node as a descent reaches it: every element of the node is at
/// least `low` and below `high` (`None`: no bound on that side).
#[derive(Clone, Copy)]
struct Fence<'a> {
    low: Option<&'a Bound>,
    high: Option<&'a Bound>,
}

impl Fence<'_> {
    const OPEN: Fence<'static> = Fence { low: None, high: None };

    fn holds(&self, score: f64, member: &[u8]) -> bool {
        self.low.is_none_or(|(s, m)| compare((*s, m), (score, member)) != Ordering::Greater)
            && self.high.is_none_or(|(s, m)| compare((score, member), (*s, m)) == Ordering::Less)
    }
}

/// A node that split: the bound between it and its new right sibling, the sibling, and how many
/// elements moved there.
struct Split {
    bound: Bound,
    right: Node,
    count: u32,
}

impl Tree {
    pub fn new(seed: u64) -> Self {
        Tree { members: Table::with_hasher(FixedState::with_seed(seed)), root: Node::Leaf(Leaf::empty()), seed }
    }

    /// The seed the table hashes members with (so clients cannot choose members that collide).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn members(&self) -> &Table<f64> {
        &self.members
    }

    /// Bytes the tree's nodes occupy, without the table.
    pub fn nodes_size(&self) -> usize {
        self.root.size()
    }

    /// The tree's parts, each freed when the iterator passes it (see `lazy_free`): the leaves
    /// one at a time (the few branches go at once), then the table's entries.
    pub fn into_pieces(self) -> impl Iterator<Item = ()> {
        let mut leaves = Vec::new();
        let mut pending = vec![self.root];
        while let Some(node) = pending.pop() {
            match node {
                Node::Leaf(leaf) => leaves.push(leaf),
                Node::Branch(branch) => pending.extend(branch.children),
            }
        }
        leaves.into_iter().map(drop).chain(self.members.into_entries().map(drop))
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.members.get(member).copied()
    }

    /// Adds a member the tree does not hold.
    pub fn insert(&mut self, member: &[u8], score: f64) {
        let slot = self.members.len() as u32;
        self.members.insert_new(Key::from(member), score);
        self.place(score, member, slot);
    }

    /// Puts the element (`score`, the member at `slot`) in order.
    fn place(&mut self, score: f64, member: &[u8], slot: u32) {
        let Tree { members, root, .. } = self;
        if let Some(split) = root.insert(members, score, member, slot) {
            let left = std::mem::replace(root, Node::Leaf(Leaf::empty()));
            let left_count = left.count();
            *root = Node::Branch(Box::new(Branch {
                counts: vec![left_count, split.count],
                children: vec![left, split.right],
                bounds: vec![split.bound],
            }));
        }
    }

    /// Takes the element (`score`, `member`) out of the order, or moves it to its place for
    /// score `to` when that place is in the same leaf (see [`Node::take`]).
    fn unplace(&mut self, score: f64, member: &[u8], to: Option<f64>) -> Taken {
        let Tree { members, root, .. } = self;
        let taken = root.take(members, score, member, to, Fence::OPEN);
        while let Node::Branch(branch) = root
            && branch.children.len() == 1
        {
            let only = branch.children.pop().unwrap_or_else(|| Node::Leaf(Leaf::empty()));
            *root = only;
        }
        taken
    }

    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let position = self.members.position(member)?;
        let score = *self.members.value_at(position);
        self.unplace(score, member, None);
        // The table moves its last entry into the freed position: the leaf must follow it.
        let last = self.members.len() - 1;
        if position != last
            && let Some((moved, &moved_score)) = self.members.get_index(last)
            && let Some(slot) = self.root.find_slot(&self.members, moved_score, moved)
        {
            *slot = position as u32;
        }
        self.members.swap_remove(member);
        Some(score)
    }

    /// Gives a member the tree holds a new score: its element is moved to its new place, its table
    /// entry stays. Returns the old score; `None` for a new member.
    pub fn rescore(&mut self, member: &[u8], score: f64) -> Option<f64> {
        let position = self.members.position(member)?;
        Some(self.rescore_at(position, member, score))
    }

    /// The table position of `member`, for [`Tree::rescore_at`], and its score.
    pub fn find(&self, member: &[u8]) -> Option<(usize, f64)> {
        self.members.position(member).map(|position| (position, *self.members.value_at(position)))
    }

    /// [`Tree::rescore`] for the member at `position` in the table.
    pub fn rescore_at(&mut self, position: usize, member: &[u8], score: f64) -> f64 {
        let previous = std::mem::replace(self.members.value_at_mut(position), score);
        // One descent takes the element out, or moves it within its leaf when it stays there.
        if previous.to_bits() != score.to_bits() && self.unplace(previous, member, Some(score)) == Taken::Removed {
            self.place(score, member, position as u32);
        }
        previous
    }

    /// How many elements precede `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let (mut node, mut rank) = (&self.root, 0);
        loop {
            match node {
                Node::Branch(branch) => {
                    let child = branch.child_for(score, member);
                    rank += branch.counts[..child].iter().map(|&c| c as usize).sum::<usize>();
                    node = &branch.children[child];
                }
                Node::Leaf(leaf) => return Some(rank + leaf.position(&self.members, score, member)),
            }
        }
    }

    /// How many elements come before the first for which `before` is false; `before` holds for a
    /// prefix of the order.
    pub fn count_before(&self, before: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        let (mut node, mut count) = (&self.root, 0);
        loop {
            match node {
                Node::Branch(branch) => {
                    let child = branch.bounds.partition_point(|(score, member)| before(*score, member));
                    count += branch.counts[..child].iter().map(|&c| c as usize).sum::<usize>();
                    node = &branch.children[child];
                }
                Node::Leaf(leaf) => {
                    let (mut low, mut high) = (0, leaf.len);
                    while low < high {
                        let mid = (low + high) / 2;
                        if before(leaf.scores[mid], member(&self.members, leaf.slots[mid])) {
                            low = mid + 1;
                        } else {
                            high = mid;
                        }
                    }
                    return count + low;
                }
            }
        }
    }

    /// [`Tree::count_before`] for a bound on scores alone: no member is read.
    pub fn count_before_score(&self, before: &dyn Fn(f64) -> bool) -> usize {
        let (mut node, mut count) = (&self.root, 0);
        loop {
            match node {
                Node::Branch(branch) => {
                    let child = branch.bounds.partition_point(|(score, _)| before(*score));
                    count += branch.counts[..child].iter().map(|&c| c as usize).sum::<usize>();
                    node = &branch.children[child];
                }
                Node::Leaf(leaf) => return count + leaf.scores[..leaf.len].partition_point(|&score| before(score)),
            }
        }
    }

    /// Visits `count` elements from rank `start` on (ascending, or from the highest when `rev`):
    /// O(log n) to find the first, then the leaves in order.
    pub fn walk(&self, start: usize, count: usize, rev: bool, mut visit: impl FnMut(&[u8], f64)) {
        let len = self.len();
        if start >= len || count == 0 {
            return;
        }
        let first = if rev { len - 1 - start } else { start };
        let mut path: Vec<(&Branch, usize)> = Vec::new();
        let (mut leaf, mut at) = descend_to_rank(&self.root, first, &mut path);
        let mut left = count;
        loop {
            visit(member(&self.members, leaf.slots[at]), leaf.scores[at]);
            left -= 1;
            if left == 0 {
                return;
            }
            let next = if rev { at.checked_sub(1) } else { Some(at + 1).filter(|&next| next < leaf.len) };
            match next {
                Some(next) => at = next,
                None => match next_leaf(&mut path, rev) {
                    Some(next) => (leaf, at) = (next, if rev { next.len - 1 } else { 0 }),
                    None => return,
                },
            }
        }
    }
}

/// The member whose table entry is at `slot`.
fn member(members: &Table<f64>, slot: u32) -> &[u8] {
    members.get_index(slot as usize).map_or(&[], |(key, _)| key)
}

/// Goes down to the leaf holding the element at ascending `rank`, noting the branches passed and
/// the child taken in each; returns the leaf and the element's index in it.
fn descend_to_rank<'a>(mut node: &'a Node, mut rank: usize, path: &mut Vec<(&'a Branch, usize)>) -> (&'a Leaf, usize) {
    loop {
        match node {
            Node::Branch(branch) => {
                let mut child = 0;
                while child + 1 < branch.counts.len() && rank >= branch.counts[child] as usize {
                    rank -= branch.counts[child] as usize;
                    child += 1;
                }
                path.push((branch, child));
                node = &branch.children[child];
            }
            Node::Leaf(leaf) => return (leaf, rank),
        }
    }
}

/// The leaf after (or before, when `rev`) the one `path` leads to, `path` updated to lead to it.
fn next_leaf<'a>(path: &mut Vec<(&'a Branch, usize)>, rev: bool) -> Option<&'a Leaf> {
    let (branch, child) = loop {
        let (branch, child) = path.pop()?;
        let sibling = if rev { child.checked_sub(1) } else { Some(child + 1).filter(|&c| c < branch.children.len()) };
        if let Some(sibling) = sibling {
            break (branch, sibling);
        }
    };
    path.push((branch, child));
    let mut node = &branch.children[child];
    loop {
        match node {
            Node::Branch(branch) => {
                let child = if rev { branch.children.len() - 1 } else { 0 };
                path.push((branch, child));
                node = &branch.children[child];
            }
            Node::Leaf(leaf) => return Some(leaf),
        }
    }
}

impl Leaf {
    fn empty() -> Box<Leaf> {
        Box::new(Leaf { len: 0, scores: [0.0; LEAF_CAPACITY], slots: [0; LEAF_CAPACITY] })
    }

    /// Where the element (`score`, `member`) is or would go.
    fn position(&self, members: &Table<f64>, score: f64, member: &[u8]) -> usize {
        let scores = &self.scores[..self.len];
        let low = scores.partition_point(|&s| s < score);
        let ties = scores[low..].partition_point(|&s| s <= score);
        low + self.slots[low..low + ties].partition_point(|&slot| self::member(members, slot) < member)
    }

    fn insert_at(&mut self, at: usize, score: f64, slot: u32) {
        self.scores.copy_within(at..self.len, at + 1);
        self.slots.copy_within(at..self.len, at + 1);
        self.scores[at] = score;
        self.slots[at] = slot;
        self.len += 1;
    }

    fn remove_at(&mut self, at: usize) {
        self.scores.copy_within(at + 1..self.len, at);
        self.slots.copy_within(at + 1..self.len, at);
        self.len -= 1;
    }

    /// Moves the elements from `from` on into a new leaf.
    fn split_off(&mut self, from: usize) -> Box<Leaf> {
        let mut right = Leaf::empty();
        let moved = self.len - from;
        right.scores[..moved].copy_from_slice(&self.scores[from..self.len]);
        right.slots[..moved].copy_from_slice(&self.slots[from..self.len]);
        right.len = moved;
        self.len = from;
        right
    }

    fn append(&mut self, other: &Leaf) {
        let (at, moved) = (self.len, other.len);
        self.scores[at..at + moved].copy_from_slice(&other.scores[..moved]);
        self.slots[at..at + moved].copy_from_slice(&other.slots[..moved]);
        self.len += moved;
    }

    /// The first element as a branch bound.
    fn first(&self, members: &Table<f64>) -> Bound {
        (self.scores[0], Key::from(member(members, self.slots[0])))
    }

    /// Adds an element, splitting first when full. An element added at either end of a full leaf
    /// gets a leaf of its own, so a set filled in order keeps its leaves full.
    fn insert(&mut self, members: &Table<f64>, score: f64, member: &[u8], slot: u32) -> Option<Split> {
        let at = self.position(members, score, member);
        if self.len < LEAF_CAPACITY {
            self.insert_at(at, score, slot);
            return None;
        }
        let right = match at {
            0 => {
                let rest = self.split_off(0);
                self.insert_at(0, score, slot);
                rest
            }
            LEAF_CAPACITY => {
                let mut alone = Leaf::empty();
                alone.insert_at(0, score, slot);
                alone
            }
            _ => {
                let mut right = self.split_off(LEAF_CAPACITY / 2);
                if at <= LEAF_CAPACITY / 2 {
                    self.insert_at(at, score, slot);
                } else {
                    right.insert_at(at - LEAF_CAPACITY / 2, score, slot);
                }
                right
            }
        };
        let count = right.len as u32;
        let bound = right.first(members);
        Some(Split { bound, right: Node::Leaf(right), count })
    }
}

impl Branch {
    /// The child that holds (or would hold) the element (`score`, `member`).
    fn child_for(&self, score: f64, member: &[u8]) -> usize {
        self.bounds.partition_point(|(s, m)| compare((*s, m), (score, member)) != Ordering::Greater)
    }

    fn insert(&mut self, members: &Table<f64>, score: f64, member: &[u8], slot: u32) -> Option<Split> {
        let child = self.child_for(score, member);
        self.counts[child] += 1;
        let split = self.children[child].insert(members, score, member, slot)?;
        self.counts[child] -= split.count;
        self.counts.insert(child + 1, split.count);
        self.children.insert(child + 1, split.right);
        self.bounds.insert(child, split.bound);
        if self.children.len() <= BRANCH_CAPACITY {
            return None;
        }
        // Split where the new child went when it was the last (a set filled in order), else
        // in the middle.
        let from = if child + 1 == BRANCH_CAPACITY { BRANCH_CAPACITY } else { BRANCH_CAPACITY / 2 };
        let counts = self.counts.split_off(from);
        let children = self.children.split_off(from);
        let mut bounds = self.bounds.split_off(from - 1);
        let bound = bounds.remove(0);
        let count = counts.iter().sum();
        Some(Split { bound, right: Node::Branch(Box::new(Branch { counts, children, bounds })), count })
    }

    /// [`Node::take`] in the child that holds the element; when the element went, keeps the
    /// children from thinning out: an empty child goes, and a child under a quarter full is
    /// merged with a neighbour that has room for it.
    fn take(&mut self, members: &Table<f64>, score: f64, member: &[u8], to: Option<f64>, fence: Fence) -> Taken {
        let child = self.child_for(score, member);
        let fence = Fence {
            low: child.checked_sub(1).map(|at| &self.bounds[at]).or(fence.low),
            high: self.bounds.get(child).or(fence.high),
        };
        let taken = self.children[child].take(members, score, member, to, fence);
        if taken != Taken::Removed {
            return taken;
        }
        self.counts[child] -= 1;
        if self.children.len() == 1 {
            return taken;
        }
        if self.counts[child] == 0 {
            self.drop_child(child);
            return taken;
        }
        let width = self.children[child].width();
        let capacity = self.children[child].capacity();
        let neighbour = if child > 0 { child - 1 } else { child + 1 };
        if width < capacity / 4 && width + self.children[neighbour].width() <= capacity {
            self.merge_children(child.min(neighbour));
        }
        taken
    }

    fn drop_child(&mut self, child: usize) {
        self.counts.remove(child);
        self.children.remove(child);
        self.bounds.remove(child.saturating_sub(1));
    }

    /// Moves child `left + 1`'s contents into child `left`.
    fn merge_children(&mut self, left: usize) {
        let count = self.counts.remove(left + 1);
        let right = self.children.remove(left + 1);
        let bound = self.bounds.remove(left);
        self.counts[left] += count;
        match (&mut self.children[left], right) {
            (Node::Leaf(into), Node::Leaf(from)) => into.append(&from),
            (Node::Branch(into), Node::Branch(from)) => {
                let from = *from;
                into.bounds.push(bound);
                into.bounds.extend(from.bounds);
                into.counts.extend(from.counts);
                into.children.extend(from.children);
            }
            // Every leaf is at the same depth, so siblings are alike.
            (_, right) => {
                self.counts[left] -= count;
                self.counts.insert(left + 1, count);
                self.children.insert(left + 1, right);
                self.bounds.insert(left, bound);
            }
        }
    }
}

impl Node {
    fn count(&self) -> u32 {
        match self {
            Node::Leaf(leaf) => leaf.len as u32,
            Node::Branch(branch) => branch.counts.iter().sum(),
        }
    }

    /// How many entries the node holds itself: elements of a leaf, children of a branch.
    fn width(&self) -> usize {
        match self {
            Node::Leaf(leaf) => leaf.len,
            Node::Branch(branch) => branch.children.len(),
        }
    }

    fn capacity(&self) -> usize {
        match self {
            Node::Leaf(_) => LEAF_CAPACITY,
            Node::Branch(_) => BRANCH_CAPACITY,
        }
    }

    fn size(&self) -> usize {
        match self {
            Node::Leaf(_) => std::mem::size_of::<Leaf>(),
            Node::Branch(branch) => {
                std::mem::size_of::<Branch>()
                    + branch.counts.capacity() * std::mem::size_of::<u32>()
                    + branch.children.capacity() * std::mem::size_of::<Node>()
                    + branch.bounds.iter().map(|(_, key)| key.heap_size()).sum::<usize>()
                    + branch.bounds.capacity() * std::mem::size_of::<Bound>()
                    + branch.children.iter().map(Node::size).sum::<usize>()
            }
        }
    }

    fn insert(&mut self, members: &Table<f64>, score: f64, member: &[u8], slot: u32) -> Option<Split> {
        match self {
            Node::Leaf(leaf) => leaf.insert(members, score, member, slot),
            Node::Branch(branch) => branch.insert(members, score, member, slot),
        }
    }

    /// Removes the element (`score`, `member`) from the node, whose elements lie within `fence`.
    /// With a new score `to` whose place is in the element's own leaf (a small change: ZINCRBY's
    /// usual case), moves it there instead, as Redis updates a skip list node in place: no count
    /// changes, and a rescore needs no second descent.
    fn take(&mut self, members: &Table<f64>, score: f64, member: &[u8], to: Option<f64>, fence: Fence) -> Taken {
        let leaf = match self {
            Node::Branch(branch) => return branch.take(members, score, member, to, fence),
            Node::Leaf(leaf) => leaf,
        };
        let at = leaf.position(members, score, member);
        if at >= leaf.len || leaf.scores[at] != score || self::member(members, leaf.slots[at]) != member {
            return Taken::Missing;
        }
        let slot = leaf.slots[at];
        leaf.remove_at(at);
        match to {
            Some(to) if fence.holds(to, member) => {
                let at = leaf.position(members, to, member);
                leaf.insert_at(at, to, slot);
                Taken::MovedInLeaf
            }
            _ => Taken::Removed,
        }
    }

    /// The slot of the element (`score`, `member`), to point it at another table position.
    fn find_slot(&mut self, members: &Table<f64>, score: f64, member: &[u8]) -> Option<&mut u32> {
        let mut node = self;
        loop {
            match node {
                Node::Branch(branch) => {
                    let child = branch.child_for(score, member);
                    node = &mut branch.children[child];
                }
                Node::Leaf(leaf) => {
                    let at = leaf.position(members, score, member);
                    return (at < leaf.len).then(|| &mut leaf.slots[at]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Tree {
        /// Checks every invariant the tree keeps; returns the elements in order.
        fn check(&self) -> Vec<(f64, Vec<u8>)> {
            let mut elements = Vec::new();
            let mut depths = Vec::new();
            check_node(&self.root, &self.members, 0, &mut elements, &mut depths);
            assert!(depths.windows(2).all(|d| d[0] == d[1]), "leaves at different depths");
            assert_eq!(elements.len(), self.len());
            assert!(elements.windows(2).all(|w| compare((w[0].0, &w[0].1), (w[1].0, &w[1].1)) == Ordering::Less));
            for (score, member) in &elements {
                assert_eq!(self.score(member), Some(*score));
            }
            elements
        }
    }

    fn check_node(node: &Node, members: &Table<f64>, depth: usize, out: &mut Vec<(f64, Vec<u8>)>, depths: &mut Vec<usize>) {
        match node {
            Node::Leaf(leaf) => {
                depths.push(depth);
                assert!(leaf.len > 0 || members.is_empty(), "an empty leaf in a non-empty tree");
                for at in 0..leaf.len {
                    out.push((leaf.scores[at], member(members, leaf.slots[at]).to_vec()));
                }
            }
            Node::Branch(branch) => {
                assert!(branch.children.len() <= BRANCH_CAPACITY);
                assert_eq!(branch.bounds.len() + 1, branch.children.len());
                for (i, child) in branch.children.iter().enumerate() {
                    let first = out.len();
                    check_node(child, members, depth + 1, out, depths);
                    assert_eq!(branch.counts[i] as usize, out.len() - first, "a count is wrong");
                    assert!(branch.counts[i] > 0);
                    if i > 0 {
                        let (s, m) = &branch.bounds[i - 1];
                        assert!(compare((*s, m), (out[first].0, &out[first].1)) != Ordering::Greater, "bound above its child");
                        assert!(compare((*s, m), (out[first - 1].0, &out[first - 1].1)) == Ordering::Greater, "bound not above the left child");
                    }
                }
            }
        }
    }

    /// Random, ascending and descending inserts, rescoring (by small steps too, which stay in
    /// their leaf) and removal of most members, checked
    /// against a sorted vector: ranks, counts, walks in both directions.
    #[test]
    fn matches_a_sorted_vector_through_growth_and_shrinking() {
        let mut tree = Tree::new(3);
        let mut model: std::collections::BTreeMap<Vec<u8>, f64> = Default::default();
        let mut x = 99u64;
        let mut next = move || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 33
        };
        let sorted = |model: &std::collections::BTreeMap<Vec<u8>, f64>| {
            let mut v: Vec<(f64, Vec<u8>)> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
            v.sort_by(|a, b| compare((a.0, &a.1), (b.0, &b.1)));
            v
        };
        for phase in 0..5 {
            for step in 0..12_000u64 {
                let r = next();
                let (member, score) = match phase {
                    0 => (format!("a{}", r % 20_000), (r % 300) as f64),
                    1 => (format!("b{step:06}"), step as f64),
                    2 => (format!("c{step:06}"), -(step as f64)),
                    3 => {
                        let member = format!("a{}", r % 20_000);
                        let score = model.get(member.as_bytes()).map_or(0.0, |s| s + 1.0);
                        (member, score)
                    }
                    _ => (format!("a{}", r % 20_000), 0.0),
                };
                let member = member.into_bytes();
                if phase == 4 && step % 4 != 0 {
                    let removed = model.remove(&member);
                    assert_eq!(tree.remove(&member), removed);
                    continue;
                }
                match tree.rescore(&member, score) {
                    Some(previous) => assert_eq!(model.insert(member, score), Some(previous)),
                    None => {
                        tree.insert(&member, score);
                        assert_eq!(model.insert(member, score), None);
                    }
                }
            }
            let expected = sorted(&model);
            assert_eq!(tree.check(), expected, "phase {phase}");
            for (rank, (score, member)) in expected.iter().enumerate().step_by(97) {
                assert_eq!(tree.rank(member), Some(rank));
                assert_eq!(tree.count_before_score(&|s| s < *score), expected.iter().filter(|(s, _)| s < score).count());
                let bound = (*score, member.clone());
                let before = |s: f64, m: &[u8]| compare((s, m), (bound.0, &bound.1)) == Ordering::Less;
                assert_eq!(tree.count_before(&before), rank);
                let mut walked = Vec::new();
                tree.walk(rank, 150, false, |m, s| walked.push((s, m.to_vec())));
                assert_eq!(walked, expected[rank..(rank + 150).min(expected.len())]);
                walked.clear();
                tree.walk(rank, 150, true, |m, s| walked.push((s, m.to_vec())));
                let from_top: Vec<_> = expected.iter().rev().skip(rank).take(150).cloned().collect();
                assert_eq!(walked, from_top);
            }
        }
        let members: Vec<Vec<u8>> = model.keys().cloned().collect();
        for (i, member) in members.iter().enumerate() {
            assert!(tree.remove(member).is_some());
            if i % 1000 == 0 {
                assert_eq!(tree.check().len(), members.len() - i - 1);
            }
        }
        assert_eq!(tree.len(), 0);
        assert!(matches!(tree.root, Node::Leaf(_)), "an empty tree is one leaf");
    }
}
