"""Turn an uploaded file into the plain text a long-context model reads, within limits.

``extract`` runs in the calling process, needs no Django, and reads each format with a well-kept
library (PDFium via pypdfium2, python-docx, python-pptx, openpyxl, inscriptis,
charset-normalizer, zipfile, tarfile). It checks sizes, counts, ratios and time as it goes, and
turns every way a file can be bad into an ``ExtractionError`` with a message a person can act
on. It cannot bound memory or stop code stuck inside a C library:
``playground.documents.isolated`` runs it in a child process with hard limits for that.

The file name is metadata only: it picks a format by its extension and nothing else. Content is
sniffed as well, so a misnamed file is read for what it is.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import lzma
import re
import stat
import tarfile
import threading
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

MB = 1024 * 1024

KINDS = (
    "pdf",
    "docx",
    "pptx",
    "xlsx",
    "html",
    "markdown",
    "text",
    "csv",
    "json",
    "code",
    "archive",
)
ERROR_KINDS = (
    "too_large",
    "encrypted",
    "corrupt",
    "unsupported",
    "empty",
    "timeout",
    "too_many_files",
    "bomb",
    "out_of_memory",
)


@dataclass(frozen=True)
class Limits:
    """What one extraction may cost. Sizes are bytes; ``max_ratio`` is uncompressed/compressed."""

    max_file_bytes: int = 50 * MB
    max_pages: int = 2000  # PDF pages, PPTX slides, XLSX sheets
    max_archive_members: int = 10_000  # entries of any type, directories included
    max_archive_bytes: int = 200 * MB  # declared uncompressed total, and real bytes read
    max_member_bytes: int = 10 * MB  # one archive member; larger ones are skipped
    max_ratio: float = 200.0  # per member and overall, for archives and PDFs
    # Below this size a ratio says nothing (a 20 kB file of spaces compresses 500:1) and
    # cannot hurt, so ratios are only judged for members and totals at least this large.
    ratio_min_bytes: int = 1 * MB
    max_text_chars: int = 20_000_000
    max_cells: int = 2_000_000  # XLSX cells written out, over all sheets
    max_cell_chars: int = 2_000  # longer XLSX cells are cut
    max_seconds: float = 60.0
    max_memory_bytes: int = 1536 * MB  # enforced by extract_isolated only


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class Extracted:
    kind: str
    text: str
    pages: int | None = None  # PDF pages, PPTX slides, XLSX sheets
    files: int | None = None  # archive text files included
    skipped: list[Skipped] = field(default_factory=list)
    language: str | None = None  # for code, from the extension

    @property
    def chars(self) -> int:
        return len(self.text)


class ExtractionError(Exception):
    """A file that cannot be read, and why, in words for the person who uploaded it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


# --- formats -------------------------------------------------------------------------------

HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml", ".shtml"})
MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown", ".mdown", ".mkd", ".mdx"})
CSV_EXTENSIONS = frozenset({".csv", ".tsv"})
JSON_EXTENSIONS = frozenset({".json", ".jsonl", ".ndjson", ".geojson", ".ipynb", ".jsonc"})
TEXT_EXTENSIONS = frozenset({".txt", ".text", ".log", ".rst", ".adoc", ".org", ".nfo", ".me"})

CODE_LANGUAGES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyx": "cython", ".ipy": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "typescript",
    ".java": "java", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala", ".sc": "scala",
    ".groovy": "groovy", ".gradle": "groovy", ".clj": "clojure", ".cljs": "clojure",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp",
    ".hh": "cpp", ".hxx": "cpp", ".ino": "cpp", ".m": "objective-c", ".mm": "objective-c",
    ".cs": "csharp", ".fs": "fsharp", ".fsx": "fsharp", ".vb": "vbnet",
    ".go": "go", ".rs": "rust", ".swift": "swift", ".zig": "zig", ".nim": "nim", ".d": "d",
    ".rb": "ruby", ".erb": "erb", ".php": "php", ".pl": "perl", ".pm": "perl", ".lua": "lua",
    ".r": "r", ".jl": "julia", ".dart": "dart", ".ex": "elixir", ".exs": "elixir",
    ".erl": "erlang", ".hrl": "erlang", ".hs": "haskell", ".ml": "ocaml", ".mli": "ocaml",
    ".elm": "elm", ".lisp": "lisp", ".el": "emacs-lisp", ".scm": "scheme", ".rkt": "racket",
    ".sh": "bash", ".bash": "bash", ".zsh": "zsh", ".fish": "fish", ".ps1": "powershell",
    ".bat": "batch", ".cmd": "batch", ".sql": "sql", ".graphql": "graphql", ".gql": "graphql",
    ".proto": "protobuf", ".thrift": "thrift", ".css": "css", ".scss": "scss",
    ".sass": "sass", ".less": "less", ".vue": "vue", ".svelte": "svelte", ".astro": "astro",
    ".xml": "xml", ".xsl": "xml", ".xsd": "xml", ".svg": "xml", ".plist": "xml",
    ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".ini": "ini", ".cfg": "ini",
    ".conf": "ini", ".properties": "properties", ".env": "dotenv", ".tf": "terraform",
    ".hcl": "hcl", ".nix": "nix", ".cmake": "cmake", ".mk": "make", ".tex": "latex",
    ".sol": "solidity", ".v": "verilog", ".sv": "systemverilog", ".vhd": "vhdl",
    ".vhdl": "vhdl", ".asm": "assembly", ".s": "assembly", ".f90": "fortran",
    ".f": "fortran", ".pas": "pascal", ".ada": "ada", ".cob": "cobol", ".tcl": "tcl",
    ".awk": "awk", ".sed": "sed", ".vim": "vim", ".dockerfile": "dockerfile",
    ".j2": "jinja", ".jinja": "jinja", ".hbs": "handlebars", ".mustache": "mustache",
}  # fmt: skip
CODE_FILENAMES: dict[str, str] = {
    "dockerfile": "dockerfile", "containerfile": "dockerfile", "makefile": "make",
    "gnumakefile": "make", "cmakelists.txt": "cmake", "jenkinsfile": "groovy",
    "gemfile": "ruby", "rakefile": "ruby", "vagrantfile": "ruby", "procfile": "procfile",
    "justfile": "just", "build": "starlark", "workspace": "starlark",
}  # fmt: skip
SHEBANG_LANGUAGES = {
    "python": "python", "python3": "python", "node": "javascript", "bash": "bash",
    "sh": "bash", "zsh": "zsh", "ruby": "ruby", "perl": "perl", "php": "php", "deno": "typescript",
}  # fmt: skip

# Inside archives these are never text, so they are skipped without reading a byte.
NESTED_ARCHIVE_EXTENSIONS = frozenset({
    ".zip", ".tar", ".gz", ".tgz", ".bz2", ".tbz", ".tbz2", ".xz", ".txz", ".zst", ".lz4",
    ".7z", ".rar", ".jar", ".war", ".ear", ".whl", ".egg", ".apk", ".ipa", ".nupkg", ".crx",
    ".xpi", ".deb", ".rpm", ".dmg", ".iso", ".cab",
})  # fmt: skip
BINARY_EXTENSIONS = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ico", ".icns", ".heic",
    ".avif", ".psd", ".ai", ".eps", ".raw", ".mp3", ".wav", ".flac", ".ogg", ".oga", ".m4a",
    ".aac", ".opus", ".mid", ".midi", ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".wmv",
    ".flv", ".ttf", ".otf", ".woff", ".woff2", ".eot", ".exe", ".dll", ".so", ".dylib", ".a",
    ".lib", ".o", ".obj", ".bin", ".elf", ".class", ".pyc", ".pyo", ".pyd", ".wasm", ".dex",
    ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf",
    ".sqlite", ".sqlite3", ".db", ".mdb", ".parquet", ".feather", ".arrow", ".npy", ".npz",
    ".pkl", ".pickle", ".h5", ".hdf5", ".pt", ".pth", ".onnx", ".safetensors", ".ckpt",
    ".tflite", ".keras", ".pb",
})  # fmt: skip
# Directories whose contents are never the project's own text.
SKIPPED_DIRECTORIES: dict[str, str] = {
    ".git": "in .git", ".hg": "in .hg", ".svn": "in .svn", "node_modules": "in node_modules",
    "bower_components": "in bower_components", ".venv": "virtualenv", "venv": "virtualenv",
    ".virtualenv": "virtualenv", "site-packages": "virtualenv", "__pycache__": "cache",
    ".mypy_cache": "cache", ".pytest_cache": "cache", ".ruff_cache": "cache", ".tox": "cache",
    ".nox": "cache", ".gradle": "cache", ".next": "build output", "__MACOSX": "OS metadata",
}  # fmt: skip
SKIPPED_FILENAMES = {".ds_store": "OS metadata", "thumbs.db": "OS metadata"}

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
COMPRESSED_MAGICS = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
ARCHIVE_MAGICS = (*ZIP_MAGICS, *COMPRESSED_MAGICS, b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07")
TAR_EXTENSIONS = frozenset({".tar", ".tgz", ".tbz", ".tbz2", ".txz", ".gz", ".bz2", ".xz"})
OOXML_EXTENSIONS = {".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx", ".xlsm": "xlsx"}
BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
PROGRESS_STEP = 0.025  # at most ~40 progress calls per file
# PDFium keeps global state and is not thread-safe; in-process callers may be thread pools.
_PDFIUM_LOCK = threading.Lock()


# --- the run: time, text and progress budgets ----------------------------------------------


class _Run:
    """One extraction's deadline, text count and throttled progress."""

    def __init__(self, limits: Limits, progress: Callable[[float], None] | None) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.chars = 0
        self.has_text = False
        self._progress = progress
        self._shown = -1.0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ExtractionError(
                "timeout",
                f"Reading the file took longer than {self.limits.max_seconds:g} s, the limit, "
                "and was stopped.",
            )

    def add_text(self, text: str) -> None:
        """Count content (not the markers between pages, sheets or files) against the limit."""
        self.chars += len(text)
        # Judged on what cleaning will leave: a file of control characters holds no text.
        self.has_text = self.has_text or _CONTENT.search(text) is not None
        if self.chars > self.limits.max_text_chars:
            raise ExtractionError(
                "too_large",
                f"The text is longer than the limit of {self.limits.max_text_chars:,} "
                "characters. Split the file and upload the parts.",
            )

    def report(self, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self._progress is None or fraction <= self._shown:
            return
        if fraction < 1.0 and self._shown >= 0 and fraction - self._shown < PROGRESS_STEP:
            return
        self._shown = fraction
        self._progress(fraction)


def _size(n: float) -> str:
    if n >= MB:
        return f"{n / MB:,.0f} MB"
    if n >= 1024:
        return f"{n / 1024:,.0f} kB"
    return f"{n:,.0f} bytes"


# --- entry point -----------------------------------------------------------------------------


def extract(
    path: Path,
    filename: str,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[float], None] | None = None,
) -> Extracted:
    """The text of the file at ``path``; ``filename`` is only used for its extension."""
    run = _Run(limits, progress)
    run.report(0.0)
    try:
        extracted = _extract(Path(path), filename, run)
    except MemoryError:
        raise ExtractionError("out_of_memory", oom_message(limits)) from None
    except RecursionError:
        raise ExtractionError("corrupt", "The file is nested too deeply to be read.") from None
    except (ExtractionError, OSError):
        raise  # OSError: the stored file itself could not be opened, not the upload's fault
    except Exception:
        # Parsers fail on hostile input in ways of their own (struct, index, key and value
        # errors); the upload fails alone, and the log keeps the trace in case it is a bug.
        logger.warning("extracting %r failed", _display(filename), exc_info=True)
        raise ExtractionError("corrupt", "The file is damaged and cannot be read.") from None
    if not run.has_text:
        raise ExtractionError("empty", _empty_message(extracted))
    extracted.text = clean_text(extracted.text)
    run.report(1.0)
    return extracted


# Readers leave characters in the text that mean nothing to a reader and cost tokens: Unicode
# non-characters (U+FDD0-U+FDEF and the last two code points of every plane), soft hyphens,
# and control characters. PDFium writes U+FFFE where a line ended in a hyphenated word.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000)
)
_JUNK = f"\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad{_NONCHARACTERS}"
_JUNK_CHARACTERS = re.compile(f"[{_JUNK}]")
_CONTENT = re.compile(f"[^\\s{_JUNK}]")
# A soft hyphen (or PDFium's U+FFFE) at a line end splits one word over two lines.
_SPLIT_WORD = re.compile("[\u00ad\ufffe]\n")
# Vertical tab, form feed and NEL end lines (a form feed often ends a page); dropping them
# would glue the words on either side together.
_LINE_BREAKS = re.compile("[\x0b\x0c\x85]")


def clean_text(text: str) -> str:
    """The text with the readers' artefacts removed: every line ends in a newline, words
    split by a soft hyphen at a line end are joined, and non-characters, soft hyphens and
    control characters other than tab and newline are gone."""
    text = _LINE_BREAKS.sub("\n", _normalize_newlines(text))
    return _JUNK_CHARACTERS.sub("", _SPLIT_WORD.sub("", text))


def oom_message(limits: Limits) -> str:
    return (
        f"Reading the file needed more than {_size(limits.max_memory_bytes)} of memory, the "
        "limit; it may be a decompression bomb."
    )


def _empty_message(extracted: Extracted) -> str:
    if extracted.kind == "pdf":
        return (
            f"The PDF has {extracted.pages} page(s) but no text layer; it may be scanned "
            "images, which are not read (no OCR)."
        )
    if extracted.kind == "archive":
        return f"The archive holds no text files ({len(extracted.skipped)} skipped)."
    return "The file holds no text."


def _extract(path: Path, filename: str, run: _Run) -> Extracted:
    limits = run.limits
    size = path.stat().st_size
    if size == 0:
        raise ExtractionError("empty", "The file is empty.")
    if size > limits.max_file_bytes:
        raise ExtractionError(
            "too_large",
            f"The file is {_size(size)}; the limit is {_size(limits.max_file_bytes)}.",
        )
    name = _basename(filename)
    ext = _extension(name)
    with path.open("rb") as file:
        head = file.read(4096)

    if head.startswith(b"%PDF-") or (ext == ".pdf" and b"%PDF-" in head[:1024]):
        return _pdf(path, size, run)
    if head.startswith(ZIP_MAGICS):
        return _zip_container(path, size, run)
    if head.startswith(OLE_MAGIC):
        raise _ole_error(path)
    if _looks_like_tar(head, ext) and _is_tar(path):
        return _tar_archive(path, size, run)
    if head.startswith(COMPRESSED_MAGICS):
        raise ExtractionError(
            "unsupported",
            "The file is compressed but is not a tar archive; upload a ZIP, .tar, .tar.gz, "
            ".tar.bz2 or .tar.xz archive, or the file itself.",
        )
    if head.startswith((b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07")):
        raise ExtractionError(
            "unsupported", "7-Zip and RAR archives are not read; upload a ZIP or tar archive."
        )
    expected = _binary_format_named(ext)
    if expected:
        raise ExtractionError("corrupt", f"The file is named {ext} but is not a valid {expected}.")
    return _text_file(path, name, ext, run)


def _basename(filename: str) -> str:
    # Display names may carry any path; only the last component's extension matters.
    return filename.replace("\\", "/").rsplit("/", 1)[-1][:255]


def _extension(name: str) -> str:
    stem, dot, ext = name.lower().rpartition(".")
    return f".{ext}" if dot and stem else ""


def _binary_format_named(ext: str) -> str | None:
    names = {".pdf": "PDF", ".zip": "ZIP archive", ".tar": "tar archive"}
    names |= {e: f"{e[1:].upper()} file" for e in OOXML_EXTENSIONS}
    names |= {e: "compressed tar archive" for e in TAR_EXTENSIONS if e != ".tar"}
    return names.get(ext)


# --- PDF ---------------------------------------------------------------------------------------


def _pdf(path: Path, size: int, run: _Run) -> Extracted:
    import pypdfium2 as pdfium

    limits = run.limits
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as error:
            if error.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
                raise ExtractionError(
                    "encrypted",
                    "The PDF is password-protected. Remove the password (print or export it "
                    "to a new PDF) and upload it again.",
                ) from None
            raise ExtractionError(
                "corrupt", "The PDF is damaged or truncated and cannot be read."
            ) from None
        try:
            count = len(document)
            if count > limits.max_pages:
                raise ExtractionError(
                    "too_large",
                    f"The PDF has {count:,} pages; the limit is {limits.max_pages:,}.",
                )
            parts = []
            for index in range(count):
                run.check_time()
                text = _pdf_page_text(document, index)
                run.add_text(text)
                _check_pdf_ratio(run, size)
                parts.append(f"--- page {index + 1} ---\n{text}\n")
                run.report((index + 1) / count)
        except pdfium.PdfiumError:
            raise ExtractionError("corrupt", "A page of the PDF is damaged.") from None
        finally:
            document.close()
    return Extracted(kind="pdf", text="".join(parts), pages=count)


def _pdf_page_text(document: Any, index: int) -> str:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    return _normalize_newlines(text).strip()


def _check_pdf_ratio(run: _Run, size: int) -> None:
    # Compressed streams can be reused by every page: a small PDF that yields far more text
    # than its size could hold is a bomb, whatever its page count.
    limits = run.limits
    if run.chars >= limits.ratio_min_bytes and run.chars > limits.max_ratio * size:
        raise ExtractionError(
            "bomb",
            f"The PDF expands to over {limits.max_ratio:g} times its size in text; it "
            "looks like a decompression bomb and was not read.",
        )


# --- ZIP containers: OOXML documents or archives ---------------------------------------------


def _zip_container(path: Path, size: int, run: _Run) -> Extracted:
    limits = run.limits
    _check_zip_entry_count(path, limits)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            kind = _zip_kind({info.filename for info in infos})
            # OOXML packages are zips too, and their parts are inflated by the readers.
            _check_declared_sizes(
                [(info.filename, info.file_size, info.compress_size) for info in infos],
                size,
                limits,
            )
            if kind == "archive":
                return _archive(_zip_entries(archive, infos), run)
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, lzma.LZMAError):
        # DOCX, PPTX and XLSX files are ZIP containers too.
        raise ExtractionError(
            "corrupt", "The file is a damaged or truncated ZIP container and cannot be read."
        ) from None
    reader = {"docx": _docx, "pptx": _pptx, "xlsx": _xlsx}[kind]
    try:
        return reader(path, run)
    except (ExtractionError, MemoryError, RecursionError):
        raise
    except Exception:
        # The readers raise whatever their XML and part lookups raise on a damaged package;
        # the exception means something to whoever reads the log, not to the uploader.
        logger.warning("reading a damaged %s file failed", kind, exc_info=True)
        raise ExtractionError(
            "corrupt", f"The {kind.upper()} file is damaged and cannot be read."
        ) from None


def _zip_kind(names: set[str]) -> str:
    if "word/document.xml" in names:
        return "docx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return "archive"


def _check_zip_entry_count(path: Path, limits: Limits) -> None:
    # ZipFile parses the whole central directory on open, so a file claiming millions of
    # entries would cost memory before any check ran; the end record gives the count first.
    # zipfile keeps this reader private, so do without it if it ever goes away.
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:
        return
    with path.open("rb") as file:
        end = end_record(file)
    if end:
        _check_count(end[zipfile._ECD_ENTRIES_TOTAL], limits)


def _check_count(count: int, limits: Limits) -> None:
    if count > limits.max_archive_members:
        raise ExtractionError(
            "too_many_files",
            f"The archive has {count:,} entries; the limit is {limits.max_archive_members:,}.",
        )


def _check_declared_sizes(members: list[tuple[str, int, int]], size: int, limits: Limits) -> None:
    """Reject by the sizes the headers declare, before any member is read."""
    _check_count(len(members), limits)
    total = sum(declared for _, declared, _ in members)
    if total > limits.max_archive_bytes:
        raise ExtractionError(
            "too_large",
            f"The archive declares {_size(total)} uncompressed; the limit is "
            f"{_size(limits.max_archive_bytes)}.",
        )
    for name, declared, compressed in members:
        if declared >= limits.ratio_min_bytes and declared > limits.max_ratio * max(compressed, 1):
            raise ExtractionError(
                "bomb",
                f"The archive member {_display(name)!r} would expand "
                f"{declared / max(compressed, 1):,.0f} times (the limit is "
                f"{limits.max_ratio:g}); it looks like a zip bomb and was not read.",
            )
    _check_overall_ratio(total, size, limits)


def _check_overall_ratio(total: int, size: int, limits: Limits) -> None:
    if total >= limits.ratio_min_bytes and total > limits.max_ratio * size:
        raise ExtractionError(
            "bomb",
            f"The archive would expand {total / size:,.0f} times (the limit is "
            f"{limits.max_ratio:g}); it looks like a decompression bomb and was not read.",
        )


# --- archives ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One archive member as its header describes it, and how to read it."""

    name: str
    type: str  # "file", "dir", "link" or "special"
    size: int  # declared
    encrypted: bool
    open: Callable[[], IO[bytes] | None]


def _zip_entries(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> list[_Entry]:
    entries = []
    for info in infos:
        mode = info.external_attr >> 16
        if info.is_dir():
            kind = "dir"
        elif info.create_system == 3 and stat.S_ISLNK(mode):
            kind = "link"  # a Unix symlink stored as a member whose content is its target
        else:
            kind = "file"
        entries.append(
            _Entry(
                info.filename,
                kind,
                info.file_size,
                bool(info.flag_bits & 0x1),
                lambda info=info: archive.open(info),
            )
        )
    return entries


def _looks_like_tar(head: bytes, ext: str) -> bool:
    return head[257:262] == b"ustar" or head.startswith(COMPRESSED_MAGICS) or ext in TAR_EXTENSIONS


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError):
        return False


TAR_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)


def _tar_archive(path: Path, size: int, run: _Run) -> Extracted:
    try:
        with tarfile.open(path, "r:*") as archive:
            infos = _tar_headers(archive, size, run)
            entries = [_tar_entry(archive, info) for info in infos]
            return _archive(entries, run)
    except TAR_ERRORS:
        raise ExtractionError(
            "corrupt", "The tar archive is damaged or truncated and cannot be read."
        ) from None


def _tar_headers(archive: tarfile.TarFile, size: int, run: _Run) -> list[tarfile.TarInfo]:
    """Every header, checked as it is read, before any member's data is."""
    limits = run.limits
    infos: list[tarfile.TarInfo] = []
    total = 0
    # Iterating reads headers one by one; each member is judged before the reader skips
    # (and, when compressed, inflates) its data on the way to the next header.
    for info in archive:
        run.check_time()
        infos.append(info)
        _check_count(len(infos), limits)
        if not info.isfile():
            continue
        total += info.size
        if total > limits.max_archive_bytes:
            raise ExtractionError(
                "too_large",
                f"The archive declares more than {_size(limits.max_archive_bytes)} "
                f"uncompressed; the limit is {_size(limits.max_archive_bytes)}.",
            )
        _check_overall_ratio(total, size, limits)
    return infos


def _tar_entry(archive: tarfile.TarFile, info: tarfile.TarInfo) -> _Entry:
    if info.isdir():
        kind = "dir"
    elif info.issym() or info.islnk():
        kind = "link"
    elif info.isfile():
        kind = "file"
    else:
        kind = "special"  # devices, FIFOs
    return _Entry(info.name, kind, info.size, False, lambda: archive.extractfile(info))


def _archive(entries: list[_Entry], run: _Run) -> Extracted:
    limits = run.limits
    _check_count(len(entries), limits)
    venvs = _virtualenv_roots(entry.name for entry in entries)
    included: dict[str, str] = {}
    skipped: list[Skipped] = []
    seen: set[str] = set()
    read_total = 0
    for number, entry in enumerate(entries, 1):
        run.check_time()
        run.report(number / len(entries))
        if entry.type == "dir":
            continue
        safe = _safe_path(entry.name)
        if safe is None:
            skipped.append(Skipped(_display(entry.name), "unsafe path"))
            continue
        reason = _skip_reason(entry, safe, venvs, seen, limits)
        seen.add(safe)
        if reason:
            skipped.append(Skipped(safe, reason))
            continue
        data, reason = _read_member(entry, limits)
        read_total += len(data)
        if read_total > limits.max_archive_bytes:
            raise ExtractionError(
                "bomb",
                f"The archive's members hold more than {_size(limits.max_archive_bytes)}, "
                "more than their headers declare; it was not read.",
            )
        text, reason = (None, reason) if reason else _member_text(data)
        if text is None:
            skipped.append(Skipped(safe, reason or "binary"))
            continue
        run.add_text(text)
        included[safe] = text
    skipped.sort(key=lambda item: item.path)
    return Extracted(
        kind="archive",
        text=_archive_text(included, skipped),
        files=len(included),
        skipped=skipped,
    )


def _virtualenv_roots(names: Iterable[str]) -> set[str]:
    # A directory holding pyvenv.cfg is a virtualenv whatever it is called.
    roots = set()
    for name in names:
        safe = _safe_path(name)
        if safe and (safe == "pyvenv.cfg" or safe.endswith("/pyvenv.cfg")):
            roots.add(safe.rpartition("/")[0])
    return roots


def _safe_path(name: str) -> str | None:
    """The member's path as a clean relative POSIX path, or None if it could escape a root."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or _has_control(name):
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _has_control(name: str) -> bool:
    # A newline in a name could forge the "--- path ---" lines that separate files.
    return any(ord(char) < 32 or ord(char) == 127 for char in name)


def _display(name: str) -> str:
    return "".join(char if ord(char) >= 32 and ord(char) != 127 else "?" for char in name)[:300]


def _skip_reason(
    entry: _Entry, path: str, venvs: set[str], seen: set[str], limits: Limits
) -> str | None:
    """Why a member is skipped, judged from its header alone (nothing is read)."""
    parts = path.split("/")
    for depth, part in enumerate(parts[:-1]):
        reason = SKIPPED_DIRECTORIES.get(part)
        if reason:
            return reason
        if "/".join(parts[: depth + 1]) in venvs:
            return "virtualenv"
    if "" in venvs and len(parts) > 1:
        return "virtualenv"  # the archive itself is a virtualenv
    if path in seen:
        return "duplicate path"
    if entry.type == "link":
        return "symlink"
    if entry.type == "special":
        return "special file"
    name = parts[-1].lower()
    if name in SKIPPED_FILENAMES:
        return SKIPPED_FILENAMES[name]
    ext = _extension(name)
    if ext in NESTED_ARCHIVE_EXTENSIONS:
        return "nested archive"
    if ext in BINARY_EXTENSIONS:
        return "binary"
    if entry.encrypted:
        return "encrypted"
    if entry.size > limits.max_member_bytes:
        return "too large"
    return None


def _read_member(entry: _Entry, limits: Limits) -> tuple[bytes, str | None]:
    """The member's bytes, read with a cap whatever its header declared."""
    try:
        stream = entry.open()
        if stream is None:
            return b"", "special file"
        with stream:
            data = stream.read(limits.max_member_bytes + 1)
    except NotImplementedError:
        return b"", "unsupported compression"
    except RuntimeError:
        return b"", "encrypted"  # zipfile's word for a password it does not have
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, lzma.LZMAError, ValueError):
        return b"", "corrupt"  # e.g. a CRC that fails because the header lied about the size
    if len(data) > limits.max_member_bytes:
        return data, "too large"
    return data, None


def _member_text(data: bytes) -> tuple[str | None, str | None]:
    """The member's text, or None and the reason it is not text."""
    if data.startswith(ARCHIVE_MAGICS) or data[257:262] == b"ustar":
        return None, "nested archive"
    text = _decode(data) if data else ""
    if text is None:
        return None, "binary" if b"\x00" in data else "not readable as text"
    return text, None


def _archive_text(included: dict[str, str], skipped: list[Skipped]) -> str:
    paths = sorted(included)
    chars = sum(len(text) for text in included.values())
    header = f"Archive: {len(paths):,} text files, {chars:,} characters"
    if skipped:
        reasons = Counter(item.reason for item in skipped)
        summary = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
        header += f"; {len(skipped):,} skipped ({summary})"
    lines = [header + ".", "", *_tree(paths), ""]
    for path in paths:
        lines.append(f"--- {path} ---")
        lines.append(included[path].rstrip("\n"))
        lines.append("")
    return "\n".join(lines)


def _tree(paths: list[str]) -> Iterator[str]:
    """Sorted paths as an indented tree; a shared prefix sorts contiguously, so each directory
    is printed once."""
    previous: list[str] = []
    for path in paths:
        *directories, name = path.split("/")
        common = 0
        while (
            common < min(len(directories), len(previous))
            and directories[common] == previous[common]
        ):
            common += 1
        for depth in range(common, len(directories)):
            yield "  " * depth + directories[depth] + "/"
        yield "  " * len(directories) + name
        previous = directories


# --- Office documents ------------------------------------------------------------------------


def _docx(path: Path, run: _Run) -> Extracted:
    import docx
    from docx.table import Table

    document = docx.Document(str(path))
    blocks = list(document.iter_inner_content())
    parts = []
    for number, block in enumerate(blocks, 1):
        if number % 200 == 0:
            run.check_time()
        if isinstance(block, Table):
            text = "\n".join(
                " | ".join(cell.text.strip() for cell in row.cells) for row in block.rows
            )
        else:
            text = _docx_heading(block) + block.text
        run.add_text(text)
        parts.append(text)
        run.report(number / len(blocks))
    return Extracted(kind="docx", text=_normalize_newlines("\n".join(parts)))


def _docx_heading(paragraph: Any) -> str:
    # Headings as Markdown marks keep the document's outline visible to the model.
    style = paragraph.style.name if paragraph.style is not None else ""
    match = re.fullmatch(r"Heading (\d)", style or "")
    if match:
        return "#" * int(match.group(1)) + " "
    return "# " if style == "Title" else ""


def _pptx(path: Path, run: _Run) -> Extracted:
    from pptx import Presentation

    slides = list(Presentation(str(path)).slides)
    if len(slides) > run.limits.max_pages:
        raise ExtractionError(
            "too_large",
            f"The presentation has {len(slides):,} slides; the limit is {run.limits.max_pages:,}.",
        )
    parts = []
    for number, slide in enumerate(slides, 1):
        run.check_time()
        lines = [f"--- slide {number} ---"]
        for shape in slide.shapes:
            lines.extend(_shape_text(shape, 0))
        if slide.has_notes_slide:
            notes_frame = slide.notes_slide.notes_text_frame
            notes = notes_frame.text.strip() if notes_frame is not None else ""
            if notes:
                lines.append(f"Notes: {notes}")
        text = "\n".join(line for line in lines if line.strip()) + "\n"
        run.add_text(text)
        parts.append(text)
        run.report(number / len(slides))
    return Extracted(kind="pptx", text=_normalize_newlines("".join(parts)), pages=len(slides))


def _shape_text(shape: Any, depth: int) -> Iterator[str]:
    from pptx.shapes.group import GroupShape

    if depth > 32:  # groups nest; a crafted file could nest them without end
        return
    if isinstance(shape, GroupShape):
        for child in shape.shapes:
            yield from _shape_text(child, depth + 1)
        return
    # Only some shape classes have these properties (pictures and connectors do not).
    if getattr(shape, "has_text_frame", False):
        yield shape.text_frame.text.strip()
    if getattr(shape, "has_table", False):
        for row in shape.table.rows:
            yield " | ".join(cell.text.strip() for cell in row.cells)


def _xlsx(path: Path, run: _Run) -> Extracted:
    import openpyxl

    # Given a path, openpyxl insists on an .xlsx name; stored uploads have none.
    with path.open("rb") as file:
        return _workbook(openpyxl.load_workbook(file, read_only=True, data_only=True), run)


def _workbook(workbook: Any, run: _Run) -> Extracted:
    limits = run.limits
    try:
        sheets = workbook.worksheets
        if len(sheets) > limits.max_pages:
            raise ExtractionError(
                "too_large",
                f"The workbook has {len(sheets):,} sheets; the limit is {limits.max_pages:,}.",
            )
        parts = []
        cells = 0
        for number, sheet in enumerate(sheets, 1):
            text, cells = _sheet_csv(sheet, cells, run)
            parts.append(f"--- sheet {sheet.title} ---\n{text}")
            run.report(number / len(sheets))
    finally:
        workbook.close()
    return Extracted(kind="xlsx", text="".join(parts), pages=len(sheets))


def _sheet_csv(sheet: Any, cells: int, run: _Run) -> tuple[str, int]:
    limits = run.limits
    # The stored dimension can claim a million columns for a handful of cells; without it the
    # read-only reader yields each row only as far as its last cell.
    sheet.reset_dimensions()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
        if number % 1000 == 0:
            run.check_time()
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        if not values:
            continue
        cells += len(values)
        if cells > limits.max_cells:
            raise ExtractionError(
                "too_large",
                f"The workbook has more than {limits.max_cells:,} cells; the limit is "
                f"{limits.max_cells:,}.",
            )
        line = [_cell_text(value, limits.max_cell_chars) for value in values]
        run.add_text(",".join(line))
        writer.writerow(line)
    return buffer.getvalue(), cells


def _cell_text(value: object, cap: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, datetime | date | dtime):
        text = value.isoformat()
    else:
        text = str(value)
    return text if len(text) <= cap else text[:cap] + "…"


def _ole_error(path: Path) -> ExtractionError:
    # An OLE compound file is either a legacy binary Office file or a password-protected
    # modern one, which Office wraps in OLE with an "EncryptionInfo" stream.
    marker = "EncryptionInfo".encode("utf-16-le")
    with path.open("rb") as file:
        encrypted = any(marker in chunk for chunk in _chunks(file, len(marker)))
    if encrypted:
        return ExtractionError(
            "encrypted",
            "The Office file is password-protected. Save a copy without a password and upload "
            "that.",
        )
    return ExtractionError(
        "unsupported",
        "This is a legacy Office file (.doc, .xls or .ppt). Save it as .docx, .xlsx, .pptx or "
        "PDF and upload that.",
    )


def _chunks(file: IO[bytes], overlap: int, size: int = MB) -> Iterator[bytes]:
    tail = b""
    while chunk := file.read(size):
        yield tail + chunk
        tail = chunk[-overlap:]


# --- text formats ----------------------------------------------------------------------------


def _text_file(path: Path, name: str, ext: str, run: _Run) -> Extracted:
    data = path.read_bytes()
    text = _decode(data)
    if text is None:
        raise ExtractionError(
            "unsupported",
            "This is not a text file and not a supported format (PDF, DOCX, PPTX, XLSX, HTML, "
            "Markdown, text, CSV, JSON, source code, ZIP or tar).",
        )
    del data
    run.check_time()
    kind, language = _text_kind(name, ext, text)
    if kind == "html":
        text = _html_text(text)
    elif kind == "json":
        text = _json_text(text)
    run.add_text(text)
    run.check_time()
    return Extracted(kind=kind, text=text, language=language)


def _text_kind(name: str, ext: str, text: str) -> tuple[str, str | None]:
    if ext in HTML_EXTENSIONS:
        return "html", None
    if ext in MARKDOWN_EXTENSIONS:
        return "markdown", None
    if ext in CSV_EXTENSIONS:
        return "csv", None
    if ext in JSON_EXTENSIONS:
        return "json", None
    language = CODE_LANGUAGES.get(ext) or CODE_FILENAMES.get(name.lower())
    if language:
        return "code", language
    if ext in TEXT_EXTENSIONS:
        return "text", None
    start = text[:512].lstrip().lower()
    if start.startswith(("<!doctype html", "<html")):
        return "html", None
    shebang = re.match(r"#![ \t]*(\S+)(?:[ \t]+(\S+))?", text)
    if shebang:
        program = shebang.group(1).rsplit("/", 1)[-1]
        if program == "env":
            program = shebang.group(2) or ""
        language = SHEBANG_LANGUAGES.get(re.sub(r"[\d.]+$", "", program))
        if language:
            return "code", language
    return "text", None


def _decode(data: bytes) -> str | None:
    """Bytes as text: by BOM, else UTF-8, else charset-normalizer's best guess; None if binary."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return _normalize_newlines(data.decode(encoding))
            except UnicodeDecodeError:
                return None
    if b"\x00" in data:
        return None
    try:
        return _normalize_newlines(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    # Code pages that score the same are ranked in the library's own order, which can put
    # Central European cp1250 before cp1252; Windows-1252 is by far the likelier legacy
    # encoding of an upload, so it wins ties.
    for match in matches:
        tied = (match.chaos, match.coherence) == (best.chaos, best.coherence)
        if tied and "cp1252" in match.could_be_from_charset:
            best = match
            break
    return _normalize_newlines(str(best))


def _normalize_newlines(text: str) -> str:
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _html_text(markup: str) -> str:
    """Readable text as a browser would lay it out: scripts and styles dropped, blocks on
    their own lines, lists bulleted, tables in columns, <pre> kept as it is."""
    from inscriptis import get_text

    text = get_text(markup)
    # Table columns are padded to a width; trailing padding is only tokens.
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def _json_text(text: str) -> str:
    # Minified JSON is one long line; indenting it shows the structure to the model. Anything
    # already laid out, JSON Lines, or not valid JSON at all is kept as it is.
    if "\n" in text.strip()[:10_000]:
        return text
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"
