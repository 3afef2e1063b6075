"""The read-only data a server reads at start-up, as host/link-order/update.sh records it for
host/link-order/data.ld. Input sections are found in the linker's map (`-Map`) by address.

    data_order.py traced MAP TRACE BASE          sections read in a valgrind lackey trace
    data_order.py watched MAP                     offsets FROM TO that touched-pages.c watches
    data_order.py on-pages MAP PAGES              sections on the pages touched-pages.c recorded
    data_order.py script SECTIONS                 data.ld for a list of sections (one a line)

The `cachet` crate's own data and the constants the linker merges are laid out first anyway, and
their names change with any edit, so they are left out: what is listed is the dependencies' data,
which would otherwise be spread over megabytes.
"""

import bisect
import re
import sys

PAGE = 4096
OUTPUTS = (".rodata", ".rodata.startup")


def input_sections(map_path):
    """(address, size, input section, output section) of every input section of the read-only
    data in an lld map, where an input section is `object:(name)`."""
    found, output = [], None
    for line in open(map_path, errors="replace"):
        columns = line[:48].split()
        if len(columns) != 4:
            continue
        try:
            address, size = int(columns[0], 16), int(columns[2], 16)
        except ValueError:
            continue
        what = line[49:].rstrip("\n")
        if what.startswith("."):
            output = what.strip()
        elif what.startswith(" " * 8) and not what.startswith(" " * 16) and output in OUTPUTS:
            found.append((address, size, what.strip(), output))
    return sorted(found)


def movable(description):
    """Whether an input section is listed: not merged by the linker, not the `cachet` crate's."""
    return not description.startswith("<internal>") and not re.search(r"/(lib)?cachet-[0-9a-f]{16}", description)


def name(description):
    """The section's name, any LLVM-given `.llvm.<number>` (which follows the build directory) as
    a pattern."""
    section = description[description.rindex(":(") + 2:-1]
    return re.sub(r"\.llvm\.\d+$", ".llvm.*", section)


def traced(map_path, trace_path, base):
    """The sections read in a lackey trace (`--trace-mem=yes`) of a run whose executable was mapped
    at `base` (hexadecimal)."""
    sections = input_sections(map_path)
    starts = [address for address, _, _, _ in sections]
    base, read = int(base, 16), set()
    for line in open(trace_path, errors="replace"):
        if line[:2] in (" L", " M"):
            address = int(line[3:].split(",")[0], 16) - base
            i = bisect.bisect_right(starts, address) - 1
            if i >= 0 and address < sections[i][0] + sections[i][1]:
                read.add(sections[i][2])
    return {name(d) for d in read if movable(d)}


def watched(map_path):
    """The range touched-pages.c watches: `.rodata` from its first section of the listed kind to
    its end (what comes before is read first anyway, and the kernel reads some of it)."""
    rodata = [s for s in input_sections(map_path) if s[3] == ".rodata"]
    first = min(address for address, _, description, _ in rodata if movable(description))
    last = max(address + size for address, size, _, _ in rodata)
    return first, last


def on_pages(map_path, pages_path):
    """The listed-kind sections on each page recorded (a page holds several: all are taken)."""
    pages = {int(line, 16) // PAGE for line in open(pages_path) if line.strip()}
    return {
        name(description)
        for address, size, description, _ in input_sections(map_path)
        if movable(description) and any(page in pages for page in range(address // PAGE, (address + max(size, 1) - 1) // PAGE + 1))
    }


def script(sections):
    return (
        "/* The read-only data a `cachet` server reads at start-up, placed first and together: see\n"
        " * host/build.rs. Recorded by host/link-order/update.sh; do not edit by hand. */\n"
        "SECTIONS {\n"
        "  .gcc_except_table : { *(.gcc_except_table .gcc_except_table.*) }\n"
        "} INSERT AFTER .rodata;\n"
        "SECTIONS {\n"
        "  .debug_gdb_scripts : { *(.debug_gdb_scripts) }\n"
        "} INSERT BEFORE .rodata;\n"
        "SECTIONS {\n"
        "  .rodata.startup : {\n"
        + "".join(f"    *({section})\n" for section in sorted(sections))
        + "  }\n"
        "} INSERT BEFORE .rodata;\n"
    )


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "traced":
        print("\n".join(sorted(traced(*arguments))))
    elif command == "watched":
        print("%x %x" % watched(*arguments))
    elif command == "on-pages":
        print("\n".join(sorted(on_pages(*arguments))))
    elif command == "script":
        sys.stdout.write(script({line.strip() for line in open(arguments[0]) if line.strip()}))
    else:
        sys.exit(__doc__)
