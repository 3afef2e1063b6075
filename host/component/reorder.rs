//! Puts the engine's busiest functions first in its core module, so that their compiled code is
//! together too.
//!
//! wasmtime lays the compiled functions out in the order of the module's function index, and the
//! kernel maps code in 64 KiB windows around each page that runs: the few hundred functions a
//! server runs at start-up and for common commands, spread over the 4.5 MB of compiled code, made
//! most of it resident. `wasm-ld` has no option to choose the order, so it is changed here, after
//! the build: the functions named in `engine-order.txt` come first, in its order, then the rest as
//! they were.
//! Every use of a function index (calls, `ref.func`, tables, exports, the start function, the
//! names) is renumbered; the code itself is unchanged.

use std::collections::{BTreeMap, HashMap};
use wasm_encoder::reencode::{Error, Reencode};
use wasm_encoder::{ComponentSectionId, RawSection};
use wasmparser::{Name, Parser, Payload, TypeRef};

/// `component` with the functions of its largest core module (the engine's own code; the others
/// are the small shims and adapters that tie it to its imports) reordered to put `first` first.
/// The function names and debug information are kept when `keep_names`, else dropped, as a
/// stripped build has none.
pub fn busiest_first(component: &[u8], first: &[&str], keep_names: bool) -> Result<Vec<u8>, String> {
    let sections = top_level_sections(component)?;
    let module = ComponentSectionId::CoreModule as u8;
    let Some(largest) = sections.iter().filter(|(id, _)| *id == module).map(|(_, range)| range.clone()).max_by_key(|range| range.len())
    else {
        return Err("the engine component has no core module".into());
    };
    let mut out = wasm_encoder::Component::new();
    for (id, range) in sections {
        let data = &component[range.clone()];
        if range == largest {
            out.section(&RawSection { id, data: &reorder(data, first, keep_names)? });
        } else {
            out.section(&RawSection { id, data });
        }
    }
    Ok(out.finish())
}

/// The component's own sections, as their ids and the ranges of their contents; a nested module
/// or component is one section, its insides skipped.
fn top_level_sections(component: &[u8]) -> Result<Vec<(u8, std::ops::Range<usize>)>, String> {
    let mut sections = Vec::new();
    let mut depth = 0;
    for payload in Parser::new(0).parse_all(component) {
        let payload = payload.map_err(|e| format!("reading the engine component: {e}"))?;
        let nested = match &payload {
            Payload::ModuleSection { unchecked_range, .. } => Some((ComponentSectionId::CoreModule, unchecked_range)),
            Payload::ComponentSection { unchecked_range, .. } => Some((ComponentSectionId::Component, unchecked_range)),
            Payload::End(_) => {
                depth = depth.max(1) - 1;
                continue;
            }
            _ => None,
        };
        if depth == 0 {
            match nested {
                Some((id, range)) => sections.push((id as u8, bytes_of(range))),
                None => sections.extend(payload.as_section().map(|(id, range)| (id, bytes_of(&range)))),
            }
        }
        if nested.is_some() {
            depth += 1;
        }
    }
    Ok(sections)
}

/// A section's place in the component, as a range of its bytes.
fn bytes_of(range: &std::ops::Range<u64>) -> std::ops::Range<usize> {
    range.start as usize..range.end as usize
}

/// The core module with its defined functions in the new order.
fn reorder(module: &[u8], first: &[&str], keep_names: bool) -> Result<Vec<u8>, String> {
    let (imported, defined, names) = functions_of(module)?;
    // Generic code can give several functions one name: all of them move, in index order (the
    // names are read into a sorted map, so the same input gives the same bytes).
    let mut by_name: HashMap<&str, Vec<u32>> = HashMap::new();
    for (&index, name) in &names {
        by_name.entry(without_build_suffix(name)).or_default().push(index);
    }
    let mut order: Vec<u32> = Vec::with_capacity(defined as usize);
    let mut placed = vec![false; defined as usize];
    for index in first.iter().filter_map(|name| by_name.get(without_build_suffix(name))).flatten() {
        let Some(local) = index.checked_sub(imported).filter(|&local| local < defined) else { continue };
        if !std::mem::replace(&mut placed[local as usize], true) {
            order.push(local);
        }
    }
    order.extend((0..defined).filter(|&local| !placed[local as usize]));
    let mut new_index: Vec<u32> = (0..imported).collect();
    new_index.resize((imported + defined) as usize, 0);
    for (position, &local) in order.iter().enumerate() {
        new_index[(imported + local) as usize] = imported + position as u32;
    }
    let mut reordering = Reordering { new_index, order, keep_names };
    let mut encoded = wasm_encoder::Module::new();
    reordering.parse_core_module(&mut encoded, Parser::new(0), module).map_err(|e| format!("rewriting the engine's core module: {e:?}"))?;
    Ok(encoded.finish())
}

/// A function's name without the `.llvm.<number>` LLVM adds to a function it makes visible to
/// another part of the same crate: the number changes with the directory the crate is built in.
fn without_build_suffix(name: &str) -> &str {
    match name.rsplit_once(".llvm.") {
        Some((base, number)) if number.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    }
}

/// The module's imported and defined function counts, and its function names by index.
fn functions_of(module: &[u8]) -> Result<(u32, u32, BTreeMap<u32, String>), String> {
    let (mut imported, mut defined, mut names) = (0, 0, BTreeMap::new());
    let fail = |e: wasmparser::BinaryReaderError| format!("reading the engine's core module: {e}");
    for payload in Parser::new(0).parse_all(module) {
        match payload.map_err(fail)? {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    if matches!(import.map_err(fail)?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::FunctionSection(section) => defined = section.count(),
            Payload::CustomSection(section) if section.name() == "name" => {
                let wasmparser::KnownCustom::Name(reader) = section.as_known() else { continue };
                for subsection in reader {
                    let Name::Function(map) = subsection.map_err(fail)? else { continue };
                    for naming in map {
                        let naming = naming.map_err(fail)?;
                        names.insert(naming.index, naming.name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    Ok((imported, defined, names))
}

/// A re-encoder that renumbers functions and writes their types and bodies in the new order.
struct Reordering {
    /// The new index of each function, by its old one.
    new_index: Vec<u32>,
    /// The old local index (among defined functions) of each function, in the new order.
    order: Vec<u32>,
    keep_names: bool,
}

impl Reencode for Reordering {
    type Error = String;

    fn function_index(&mut self, func: u32) -> Result<u32, Error<String>> {
        self.new_index.get(func as usize).copied().ok_or_else(|| Error::UserError(format!("function index {func} out of range")))
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), Error<String>> {
        let types = section.into_iter().collect::<Result<Vec<u32>, _>>()?;
        for local in self.order.clone() {
            functions.function(self.type_index(types[local as usize])?);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), Error<String>> {
        let bodies = section.into_iter().collect::<Result<Vec<_>, _>>()?;
        for local in self.order.clone() {
            self.parse_function_body(code, bodies[local as usize].clone())?;
        }
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), Error<String>> {
        match section.name() {
            "name" if self.keep_names => {
                if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
                    module.section(&self.renumbered_names(reader)?);
                }
                Ok(())
            }
            // What a stripped build leaves out.
            "name" => Ok(()),
            other if !self.keep_names && (other == "target_features" || other.starts_with(".debug")) => Ok(()),
            _ => wasm_encoder::reencode::utils::parse_custom_section(self, module, section),
        }
    }
}

impl Reordering {
    /// The function names under their new indices, in increasing order as the format requires;
    /// the module's name and global names as they were. Local and label names are dropped.
    fn renumbered_names(&mut self, reader: wasmparser::NameSectionReader<'_>) -> Result<wasm_encoder::NameSection, Error<String>> {
        let mut names = wasm_encoder::NameSection::new();
        for subsection in reader {
            match subsection? {
                Name::Module { name, .. } => names.module(name),
                Name::Function(map) => {
                    let mut renamed = Vec::new();
                    for naming in map {
                        let naming = naming?;
                        renamed.push((self.function_index(naming.index)?, naming.name));
                    }
                    renamed.sort_unstable_by_key(|&(index, _)| index);
                    let mut map = wasm_encoder::NameMap::new();
                    for (index, name) in renamed {
                        map.append(index, name);
                    }
                    names.functions(&map);
                }
                Name::Global(map) => {
                    let mut copied = wasm_encoder::NameMap::new();
                    for naming in map {
                        let naming = naming?;
                        copied.append(naming.index, naming.name);
                    }
                    names.globals(&copied);
                }
                _ => {}
            }
        }
        Ok(names)
    }
}
