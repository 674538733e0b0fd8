"""Build every fixture file in the test itself, with the libraries that write each format."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def pdf(path: Path, pages: Sequence[str]) -> Path:
    from fpdf import FPDF

    document = FPDF()
    document.set_font("Helvetica", size=11)
    for text in pages:
        document.add_page()
        document.multi_cell(0, 6, text)
    document.output(str(path))
    return path


def encrypted_pdf(path: Path, pages: Sequence[str], password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = pdf(path.with_suffix(".plain.pdf"), pages)
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password, algorithm="AES-256")
    with path.open("wb") as file:
        writer.write(file)
    plain.unlink()
    return path


def docx(
    path: Path, heading: str, paragraphs: Sequence[str], table: Sequence[Sequence[str]]
) -> Path:
    import docx as python_docx

    document = python_docx.Document()
    document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    document.save(str(path))
    return path


def pptx(path: Path, slides: Sequence[tuple[str, str, str]], grouped: str = "") -> Path:
    """Slides of (title, body, speaker notes); ``grouped`` goes in a text box inside a group
    inside a group on the last slide."""
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    layout = presentation.slide_layouts[1]  # title and content
    for title, body, notes in slides:
        slide = presentation.slides.add_slide(layout)
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        slide.notes_slide.notes_text_frame.text = notes
    if grouped:
        outer = presentation.slides[-1].shapes.add_group_shape()
        inner = outer.shapes.add_group_shape()
        box = inner.shapes.add_textbox(Inches(1), Inches(1), Inches(3), Inches(1))
        box.text_frame.text = grouped
    presentation.save(str(path))
    return path


def xlsx(path: Path, sheets: Mapping[str, Sequence[Sequence[object]]]) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    workbook.save(str(path))
    return path


def zip_file(
    path: Path,
    members: Mapping[str, bytes],
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def zip_bytes(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def nested_zip(depth: int, innermost: Mapping[str, bytes]) -> bytes:
    """A zip in a zip in a zip..., ``depth`` levels deep."""
    data = zip_bytes(innermost)
    for level in range(depth - 1):
        data = zip_bytes({f"level{depth - 1 - level}.zip": data})
    return data


def lying_zip(path: Path, name: str, data: bytes, declared: int) -> Path:
    """A zip whose central directory declares ``declared`` bytes for a member that holds
    ``data``: the header lies."""
    zip_file(path, {name: data})
    with zipfile.ZipFile(path) as archive:
        start = archive.start_dir
    raw = bytearray(path.read_bytes())
    entry = raw.index(b"PK\x01\x02", start)
    raw[entry + 24 : entry + 28] = declared.to_bytes(4, "little")  # uncompressed size
    path.write_bytes(bytes(raw))
    return path


def mark_encrypted(path: Path, name: str) -> Path:
    """Set the "encrypted" flag of one member in the central directory (zipfile cannot write
    encrypted members)."""
    with zipfile.ZipFile(path) as archive:
        start = archive.start_dir
    raw = bytearray(path.read_bytes())
    entry = raw.index(b"PK\x01\x02", start)
    while True:
        length = int.from_bytes(raw[entry + 28 : entry + 30], "little")
        if raw[entry + 46 : entry + 46 + length] == name.encode():
            break
        entry = raw.index(b"PK\x01\x02", entry + 46)
    raw[entry + 8] |= 0x01  # general-purpose flag bit 0
    path.write_bytes(bytes(raw))
    return path


def tar_file(path: Path, members: Mapping[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def tar_with_specials(path: Path, text_name: str, text: bytes) -> Path:
    """A tar.gz with a text file, a symlink, a hard link, a device, a FIFO and paths that
    try to escape (absolute and ``..``)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in {
            text_name: text,
            "/etc/evil.txt": b"absolute",
            "src/../../escape.txt": b"dot dot",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, kind in {
            "link-to-passwd": tarfile.SYMTYPE,
            "hard-link": tarfile.LNKTYPE,
            "device": tarfile.CHRTYPE,
            "pipe": tarfile.FIFOTYPE,
        }.items():
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            archive.addfile(info)
    return path


def repository(readme: str, code: str) -> dict[str, bytes]:
    """A small repository with everything that should be skipped beside its own text."""
    return {
        "repo/README.md": readme.encode(),
        "repo/src/app/main.py": code.encode(),
        "repo/src/app/util/strings.js": b"export const shout = (s) => s.toUpperCase();\n",
        "repo/docs/notes.txt": "Caf\u00e9 notes \u2014 in Latin-1".encode("cp1252"),
        "repo/assets/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
        "repo/data/blob.dat": bytes(range(256)),
        "repo/.git/config": b"[core]\n\tsecretgitconfig = true\n",
        "repo/.git/objects/ab/cdef": b"x\x01secretgitobject",
        "repo/node_modules/left-pad/index.js": b"module.exports = 'secretnodemodule';\n",
        "repo/.venv/pyvenv.cfg": b"home = /usr/bin\n",
        "repo/.venv/lib/site.py": b"secretvenvfile = 1\n",
        "repo/env2/pyvenv.cfg": b"home = /usr/bin\n",
        "repo/env2/lib/thing.py": b"secretvenvtwo = 1\n",
        "repo/__pycache__/main.cpython-312.pyc": b"\x00secretpyc",
        "repo/vendor/bundle.zip": zip_bytes({"inner.txt": b"secretnestedzip"}),
        "repo/vendor/disguised.txt": zip_bytes({"inner.txt": b"secretdisguised"}),
    }
