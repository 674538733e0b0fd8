"""Extraction of every supported format, and hostile files failing alone with a clear reason.

Every file is built here with the library that writes its format (see builders.py)."""

from __future__ import annotations

import json
import os
import signal
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from playground.documents import extract as extract_module
from playground.documents import isolated
from playground.documents.extract import Extracted, ExtractionError, Limits, Skipped, extract
from playground.documents.isolated import extract_isolated

from . import builders

HERON = "The grey heron waits at dawn beside the silent reed bed."
LANTERN = "Seven brass lanterns hang above the harbour gate."
ORCHARD = "The orchard ledger lists forty-two pear trees."
QUARTZ = "Quartz clocks drift less than a second a month."


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def fails(kind: str, path: Path, filename: str, limits: Limits | None = None) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        extract(path, filename, limits or Limits())
    assert caught.value.kind == kind, caught.value.message
    assert str(caught.value) == caught.value.message
    return caught.value


# --- formats -------------------------------------------------------------------------------


def test_pdf_pages_come_out_in_order(tmp_path):
    path = builders.pdf(tmp_path / "f.pdf", [HERON, LANTERN, ORCHARD])
    result = extract(path, "report.pdf")
    assert (result.kind, result.pages) == ("pdf", 3)
    assert result.text.index(HERON) < result.text.index(LANTERN) < result.text.index(ORCHARD)
    assert "--- page 2 ---\n" + LANTERN in result.text


def test_docx_headings_paragraphs_and_tables(tmp_path):
    path = builders.docx(
        tmp_path / "d", "Field notes", [HERON, LANTERN], [["Bird", "Count"], ["Heron", "3"]]
    )
    result = extract(path, "notes.docx")
    assert result.kind == "docx"
    assert result.text.startswith("# Field notes\n")
    assert HERON in result.text and LANTERN in result.text
    assert "Bird | Count\nHeron | 3" in result.text


def test_pptx_slides_and_speaker_notes(tmp_path):
    path = builders.pptx(
        tmp_path / "p",
        [("Harbour", LANTERN, "Mention the gate."), ("Birds", HERON, "")],
        grouped=QUARTZ,
    )
    result = extract(path, "deck.pptx")
    assert (result.kind, result.pages) == ("pptx", 2)
    slide_one, slide_two = result.text.split("--- slide 2 ---")
    assert "--- slide 1 ---" in slide_one and LANTERN in slide_one
    assert "Notes: Mention the gate." in slide_one
    assert "Birds" in slide_two and HERON in slide_two and QUARTZ in slide_two


def test_xlsx_sheets_as_csv_rows(tmp_path):
    path = builders.xlsx(
        tmp_path / "x",
        {
            "Trees": [["kind", "count"], ["pear, williams", 42], [ORCHARD, 1.5]],
            "Empty": [],
            "Clocks": [[QUARTZ]],
        },
    )
    result = extract(path, "book.xlsx")
    assert (result.kind, result.pages) == ("xlsx", 3)
    assert f'--- sheet Trees ---\nkind,count\n"pear, williams",42\n{ORCHARD},1.5\n' in result.text
    assert f"--- sheet Clocks ---\n{QUARTZ}\n" in result.text


def test_xlsx_long_cells_are_cut(tmp_path):
    path = builders.xlsx(tmp_path / "x", {"S": [["a" * 50]]})
    result = extract(path, "b.xlsx", Limits(max_cell_chars=10))
    assert "a" * 10 + "…" in result.text and "a" * 11 not in result.text


def test_html_readable_text_without_scripts(tmp_path):
    html = (
        "<!doctype html><html><head><title>Harbour</title><style>p{color:red}</style>"
        "<script>alert('secretscript')</script></head><body><h1>Lanterns</h1>"
        f"<p>{LANTERN}</p><p>Second <b>bold</b>   paragraph</p><ul><li>one</li><li>two</li></ul>"
        "<pre>def f():\n    return 1</pre></body></html>"
    )
    result = extract(write(tmp_path, "h", html), "page.html")
    assert result.kind == "html"
    assert "secretscript" not in result.text and "color:red" not in result.text
    assert f"Lanterns\n\n{LANTERN}" in result.text
    assert "Second bold paragraph" in result.text
    assert "* one\n  * two" in result.text
    assert "def f():\n    return 1" in result.text


def test_html_sniffed_without_extension(tmp_path):
    result = extract(write(tmp_path, "h", f"<html><body><p>{HERON}</p></body></html>"), "page")
    assert (result.kind, result.text) == ("html", HERON + "\n")


@pytest.mark.parametrize(
    ("filename", "kind", "language"),
    [
        ("README.md", "markdown", None),
        ("table.csv", "csv", None),
        ("notes.txt", "text", None),
        ("notes", "text", None),
        ("notes.weird-extension", "text", None),
        ("main.py", "code", "python"),
        ("lib.rs", "code", "rust"),
        ("Dockerfile", "code", "dockerfile"),
        ("App.TSX", "code", "typescript"),
    ],
)
def test_text_formats_by_extension(tmp_path, filename, kind, language):
    result = extract(write(tmp_path, "t", f"{HERON}\r\nline two\n"), filename)
    assert (result.kind, result.language) == (kind, language)
    assert result.text == f"{HERON}\nline two\n"
    assert result.chars == len(result.text)


def test_shebang_makes_code(tmp_path):
    result = extract(write(tmp_path, "s", "#!/usr/bin/env python3\nprint('hi')\n"), "run")
    assert (result.kind, result.language) == ("code", "python")


def test_json_minified_is_indented_and_laid_out_json_kept(tmp_path):
    minified = json.dumps({"heron": HERON, "counts": [1, 2]})
    result = extract(write(tmp_path, "a", minified), "data.json")
    assert result.kind == "json"
    assert json.loads(result.text) == json.loads(minified) and "\n" in result.text
    lines = '{"a": 1}\n{"b": 2}\n'
    assert extract(write(tmp_path, "b", lines), "data.jsonl").text == lines
    broken = '{"a": [1, 2'
    assert extract(write(tmp_path, "c", broken), "broken.json").text == broken


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (
            "Le garçon a mangé une crème brûlée à la façon de l’été — “naïve”, cœur, €5. " * 4,  # noqa: RUF001
            "cp1252",
        ),
        (
            "中华人民共和国是一个历史悠久的国家，我们一起学习汉语和文化。今天天气很好。" * 4,  # noqa: RUF001
            "gb18030",
        ),
        (f"{HERON} ünïcödé", "utf-16"),
    ],
)
def test_legacy_encodings_decoded(tmp_path, text, encoding):
    assert extract(write(tmp_path, "t", text.encode(encoding)), "old.txt").text == text


# What readers leave in text: PDFium's U+FFFE for a hyphen ending a line, soft hyphens, other
# non-characters and control characters. Joiners and tabs are text and stay.
ARTEFACTS = (
    "hyphen\ufffe\r\nated, hyphen\u00ad\nated, soft\u00adly, \x1b[1mbold\x07, "
    "non\ufdd0char\uffffacters\U0010fffe, 👩\u200d💻, page\x0cnext\tcolumn\n"
)
CLEAN = "hyphenated, hyphenated, softly, [1mbold, noncharacters, 👩\u200d💻, page\nnext\tcolumn\n"


def test_clean_text_removes_reader_artefacts():
    assert extract_module.clean_text(ARTEFACTS) == CLEAN


def test_text_file_comes_out_clean(tmp_path):
    result = extract(write(tmp_path, "a", ARTEFACTS), "notes.txt")
    assert (result.text, result.chars) == (CLEAN, len(CLEAN))


def test_pdf_word_hyphenated_at_a_line_end_is_joined(tmp_path):
    path = builders.pdf(tmp_path / "h.pdf", ["The grey heron's plum-\nage is soft."])
    result = extract(path, "h.pdf")
    assert "The grey heron's plumage is soft." in result.text
    assert "\ufffe" not in result.text


def test_file_of_only_control_characters_is_empty(tmp_path):
    fails("empty", write(tmp_path, "c", "\x01\x02\ufffe\n\x7f"), "c.txt")


# --- archives ------------------------------------------------------------------------------

SKIPPED_REPO = [
    Skipped("repo/.git/config", "in .git"),
    Skipped("repo/.git/objects/ab/cdef", "in .git"),
    Skipped("repo/.venv/lib/site.py", "virtualenv"),
    Skipped("repo/.venv/pyvenv.cfg", "virtualenv"),
    Skipped("repo/__pycache__/main.cpython-312.pyc", "cache"),
    Skipped("repo/assets/logo.png", "binary"),
    Skipped("repo/data/blob.dat", "binary"),
    Skipped("repo/env2/lib/thing.py", "virtualenv"),
    Skipped("repo/env2/pyvenv.cfg", "virtualenv"),
    Skipped("repo/node_modules/left-pad/index.js", "in node_modules"),
    Skipped("repo/vendor/bundle.zip", "nested archive"),
    Skipped("repo/vendor/disguised.txt", "nested archive"),
]
TREE = """repo/
  README.md
  docs/
    notes.txt
  src/
    app/
      main.py
      util/
        strings.js"""


def test_repository_zip_tree_files_and_skips(tmp_path):
    members = builders.repository(f"# Demo\n{HERON}\n", f"print({LANTERN!r})\n")
    result = extract(builders.zip_file(tmp_path / "r", members), "repo.zip")
    assert (result.kind, result.files, result.pages) == ("archive", 4, None)
    assert result.skipped == SKIPPED_REPO
    header, tree, *_ = result.text.split("\n\n")
    assert header.startswith("Archive: 4 text files,")
    # Skipped files are counted by reason; their names stay out of what the model reads.
    assert header.endswith(
        "; 12 skipped (2 binary, 1 cache, 2 in .git, 1 in node_modules, 2 nested archive, "
        "4 virtualenv)."
    )
    assert tree == TREE
    assert "--- repo/README.md ---\n# Demo\n" + HERON in result.text
    assert "Café notes — in Latin-1" in result.text
    order = [line for line in result.text.splitlines() if line.startswith("--- ")]
    assert order == sorted(order) and len(order) == 4
    assert "secret" not in result.text


def test_tar_gz_of_the_same_repository_reads_the_same(tmp_path):
    members = builders.repository(HERON, LANTERN)
    from_zip = extract(builders.zip_file(tmp_path / "r.zip", members), "repo.zip")
    for mode, name in (("w:gz", "repo.tar.gz"), ("w:bz2", "repo.tbz2"), ("w:xz", "x"), ("w", "t")):
        from_tar = extract(builders.tar_file(tmp_path / name, members, mode), name)
        assert from_tar == from_zip


def test_tar_links_devices_and_escaping_paths_are_skipped(tmp_path):
    path = builders.tar_with_specials(tmp_path / "s.tgz", "ok/readme.txt", HERON.encode())
    result = extract(path, "s.tgz")
    assert result.files == 1 and HERON in result.text
    reasons = {item.path: item.reason for item in result.skipped}
    assert reasons == {
        "/etc/evil.txt": "unsafe path",
        "src/../../escape.txt": "unsafe path",
        "link-to-passwd": "symlink",
        "hard-link": "symlink",
        "device": "special file",
        "pipe": "special file",
    }
    assert "absolute" not in result.text and "dot dot" not in result.text


def test_zip_symlink_and_encrypted_members_are_skipped(tmp_path):
    path = tmp_path / "z.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("keep.txt", HERON)
        link = zipfile.ZipInfo("link")
        link.create_system = 3
        link.external_attr = 0o120777 << 16  # a Unix symlink
        archive.writestr(link, "/etc/passwd")
        archive.writestr("locked.txt", "secretlocked")
    builders.mark_encrypted(path, "locked.txt")
    result = extract(path, "z.zip")
    assert result.skipped == [Skipped("link", "symlink"), Skipped("locked.txt", "encrypted")]
    assert result.text.endswith(HERON + "\n")


def test_deeply_nested_archive_is_not_expanded(tmp_path):
    nested = builders.nested_zip(8, {"deep.txt": b"secretdeep"})
    path = builders.zip_file(tmp_path / "n", {"top.txt": HERON.encode(), "level0.zip": nested})
    result = extract(path, "nested.zip")
    assert result.skipped == [Skipped("level0.zip", "nested archive")]
    assert "secretdeep" not in result.text and result.files == 1


def test_archive_of_only_binaries_is_empty(tmp_path):
    path = builders.zip_file(tmp_path / "b", {"a.png": b"\x89PNG", "b.bin": bytes(10)})
    assert "2 skipped" in fails("empty", path, "b.zip").message


def test_large_member_skipped_by_declared_size(tmp_path):
    path = builders.zip_file(
        tmp_path / "l", {"big.txt": b"y" * 5000, "small.txt": HERON.encode()}, zipfile.ZIP_STORED
    )
    result = extract(path, "l.zip", Limits(max_member_bytes=1000))
    assert result.skipped == [Skipped("big.txt", "too large")]


def test_declared_total_over_the_limit_fails_before_reading(tmp_path, monkeypatch):
    path = builders.zip_file(tmp_path / "d", {f"f{i}.txt": b"z" * 4000 for i in range(5)})
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: opened.append(a))
    error = fails("too_large", path, "d.zip", Limits(max_archive_bytes=10_000))
    assert error.message == "The archive declares 20 kB uncompressed; the limit is 10 kB."
    assert opened == []


def test_header_that_lies_big_is_rejected_and_lies_small_is_caught(tmp_path):
    honest = HERON.encode() * 10
    big = builders.lying_zip(tmp_path / "big", "a.txt", honest, declared=900 * 1024 * 1024)
    assert "declares 900 MB" in fails("too_large", big, "big.zip").message
    real = b"Q" * 300_000
    small = builders.lying_zip(tmp_path / "small", "b.txt", real, declared=100)
    # The header passes the size checks, but reading stops at the declared size and the CRC
    # fails there: the only member is skipped as corrupt, so nothing is left to read.
    fails("empty", small, "small.zip", Limits(max_member_bytes=1000))


def test_lying_member_beside_good_ones_is_skipped_as_corrupt(tmp_path):
    path = builders.lying_zip(tmp_path / "z", "b.txt", b"Q" * 300_000, declared=100)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("good.txt", HERON)
    result = extract(path, "z.zip")
    assert result.skipped == [Skipped("b.txt", "corrupt")]
    assert "QQ" not in result.text and HERON in result.text


@pytest.mark.parametrize("builder", ["zip", "tar"])
def test_too_many_members(tmp_path, builder):
    members = {f"f{i}.txt": b"x" for i in range(11)}
    if builder == "zip":
        path = builders.zip_file(tmp_path / "m", members)
    else:
        path = builders.tar_file(tmp_path / "m", members)
    error = fails("too_many_files", path, "m", Limits(max_archive_members=10))
    assert "11 entries; the limit is 10" in error.message


def test_high_ratio_member_is_a_bomb(tmp_path):
    path = builders.zip_file(tmp_path / "z", {"ok.txt": b"fine", "zeros.txt": bytes(5_000_000)})
    error = fails("bomb", path, "z.zip")
    assert "'zeros.txt' would expand" in error.message and "limit is 200" in error.message


def test_high_ratio_tar_gz_is_a_bomb(tmp_path):
    path = builders.tar_file(tmp_path / "t", {"zeros.txt": bytes(5_000_000)})
    assert "would expand" in fails("bomb", path, "t.tar.gz").message


def test_small_repetitive_files_are_not_bombs(tmp_path):
    path = builders.zip_file(tmp_path / "s", {"spaces.txt": b"x" + b" " * 200_000})
    assert extract(path, "s.zip").files == 1


# --- hostile and broken files --------------------------------------------------------------


def test_encrypted_pdf(tmp_path):
    path = builders.encrypted_pdf(tmp_path / "e.pdf", [HERON], "hunter2")
    assert "password-protected" in fails("encrypted", path, "e.pdf").message


def test_truncated_pdf(tmp_path):
    whole = builders.pdf(tmp_path / "w.pdf", [HERON, LANTERN]).read_bytes()
    path = write(tmp_path, "t.pdf", whole[: len(whole) // 2])
    fails("corrupt", path, "t.pdf")


def test_pdf_over_the_page_limit(tmp_path):
    path = builders.pdf(tmp_path / "p.pdf", ["a", "b", "c"])
    assert (
        "3 pages; the limit is 2" in fails("too_large", path, "p.pdf", Limits(max_pages=2)).message
    )


def test_pdf_without_text_layer_is_empty(tmp_path):
    path = builders.pdf(tmp_path / "blank.pdf", ["", ""])
    assert "no text layer" in fails("empty", path, "scan.pdf").message


def test_content_wins_over_a_misleading_name(tmp_path):
    path = builders.pdf(tmp_path / "p", [HERON])
    assert extract(path, "notes.txt").kind == "pdf"
    fails("corrupt", write(tmp_path, "n", HERON), "fake.pdf")
    fails("corrupt", write(tmp_path, "d", HERON), "fake.docx")


def test_legacy_and_encrypted_office_files(tmp_path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
    assert ".docx" in fails("unsupported", write(tmp_path, "l", ole), "old.doc").message
    encrypted = ole + "EncryptionInfo".encode("utf-16-le") + bytes(100)
    fails("encrypted", write(tmp_path, "e", encrypted), "secret.docx")


def test_damaged_docx(tmp_path):
    path = builders.zip_file(tmp_path / "d", {"word/document.xml": b"<not xml", "x": b""})
    error = fails("corrupt", path, "d.docx")
    # The exception the reader raised is for the log, not the person who uploaded the file.
    assert error.message == "The DOCX file is damaged and cannot be read."


def test_empty_file(tmp_path):
    assert fails("empty", write(tmp_path, "e", b""), "e.txt").message == "The file is empty."
    fails("empty", write(tmp_path, "w", " \n\t\n"), "w.txt")


def test_binary_file_is_unsupported(tmp_path):
    path = write(tmp_path, "b", bytes(range(256)) * 40)
    assert "not a text file" in fails("unsupported", path, "data.txt").message


def test_plain_gzip_is_unsupported(tmp_path):
    import gzip

    fails("unsupported", write(tmp_path, "g", gzip.compress(HERON.encode())), "log.gz")


def test_file_over_the_size_limit(tmp_path):
    path = write(tmp_path, "b", "x" * 3 * 1024 * 1024)
    error = fails("too_large", path, "b.txt", Limits(max_file_bytes=2 * 1024 * 1024))
    assert error.message == "The file is 3 MB; the limit is 2 MB."


def test_text_over_the_character_limit(tmp_path):
    error = fails("too_large", write(tmp_path, "t", "x" * 101), "t.txt", Limits(max_text_chars=100))
    assert "100 characters" in error.message


def test_hostile_display_name_is_never_a_path(tmp_path, monkeypatch):
    name = "<img src=x onerror=alert(1)>../../etc/passwd.txt"
    path = write(tmp_path, "upload-1", HERON)
    opened: list[str] = []
    watching = True

    def audit(event: str, args: tuple) -> None:
        if watching and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            opened.append(os.fsdecode(args[0]))

    sys.addaudithook(audit)  # hooks cannot be removed; this one goes quiet after the test
    monkeypatch.chdir(tmp_path)
    try:
        result = extract(path, name)
    finally:
        watching = False
    assert (result.kind, result.text) == ("text", HERON)
    assert str(path) in opened
    # Nothing named after the upload was opened (lazy imports may open library files), and
    # nothing was created beside it.
    assert not [p for p in opened if "passwd" in p or "onerror" in p or "<" in p], opened
    assert {p for p in opened if p.startswith(str(tmp_path))} == {str(path)}
    assert sorted(os.listdir(tmp_path)) == ["upload-1"]


def test_progress_starts_at_zero_ends_at_one_and_is_throttled(tmp_path):
    members = {f"dir/f{i:04}.txt": f"line {i}\n".encode() for i in range(600)}
    path = builders.zip_file(tmp_path / "p", members)
    calls: list[float] = []
    extract(path, "p.zip", progress=calls.append)
    assert calls[0] == 0.0 and calls[-1] == 1.0
    assert calls == sorted(set(calls)) and 10 < len(calls) <= 50


def test_timeout_in_process(tmp_path, monkeypatch):
    real = extract_module._decode

    def slow(data: bytes) -> str | None:
        time.sleep(0.05)
        return real(data)

    monkeypatch.setattr(extract_module, "_decode", slow)
    path = builders.zip_file(tmp_path / "s", {f"f{i}.txt": b"text" for i in range(100)})
    started = time.monotonic()
    error = fails("timeout", path, "s.zip", Limits(max_seconds=0.3))
    assert "0.3 s" in error.message and time.monotonic() - started < 2


# --- isolation -----------------------------------------------------------------------------


def test_isolated_returns_what_extract_returns(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    repo = builders.zip_file(tmp_path / "r", builders.repository(HERON, "owl = '🦉'\n"))
    docx = builders.docx(tmp_path / "d", "Notes", [LANTERN], [])
    big = write(tmp_path, "big", (QUARTZ + " ünï\n") * 100_000)  # 5 MB of text
    for path, name in ((repo, "repo.zip"), (docx, "n.docx"), (big, "big.txt")):
        calls: list[float] = []
        started = time.monotonic()
        assert extract_isolated(path, name, progress=calls.append) == extract(path, name)
        assert calls[-1] == 1.0 and time.monotonic() - started < 5
    assert os.listdir(tmp_path / "tmp") == []  # temp files always cleaned up


def test_isolated_passes_errors_through(tmp_path):
    path = builders.encrypted_pdf(tmp_path / "e.pdf", [HERON], "pw")
    with pytest.raises(ExtractionError) as caught:
        extract_isolated(path, "e.pdf", Limits())
    assert caught.value.kind == "encrypted"


def test_isolated_kills_a_child_past_the_wall_clock(tmp_path, monkeypatch):
    monkeypatch.setattr(isolated, "STARTUP_SECONDS", 0.0)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    path = write(tmp_path, "t", HERON)
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        extract_isolated(path, "t.txt", Limits(max_seconds=0.05))
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 3
    assert os.listdir(tmp_path / "tmp") == []


def test_isolated_memory_limit(tmp_path):
    path = tmp_path / "m.zip"
    chunk = b"a" * (1024 * 1024)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("big.txt", "w") as member,
    ):
        for _ in range(400):
            member.write(chunk)
    roomy = Limits(
        max_member_bytes=1 << 30,
        max_archive_bytes=1 << 30,
        max_ratio=1e9,
        max_memory_bytes=256 * 1024 * 1024,
    )
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        extract_isolated(path, "m.zip", roomy)
    assert caught.value.kind == "out_of_memory"
    assert "256 MB" in caught.value.message and time.monotonic() - started < 10


def test_a_crashed_child_is_reported_not_raised(tmp_path):
    error = isolated._failure(-signal.SIGSEGV, tmp_path, Limits(), timed_out=False)
    assert error.kind == "corrupt"
    killed = isolated._failure(-signal.SIGKILL, tmp_path, Limits(), timed_out=False)
    assert killed.kind == "out_of_memory"
    cpu = isolated._failure(-signal.SIGXCPU, tmp_path, Limits(), timed_out=False)
    assert cpu.kind == "timeout"


def test_tar_member_read_from_memory_only(tmp_path, monkeypatch):
    # Members are read into memory; nothing is ever extracted to disk.
    monkeypatch.setattr(tarfile.TarFile, "extract", lambda *a, **k: pytest.fail("extract"))
    monkeypatch.setattr(tarfile.TarFile, "extractall", lambda *a, **k: pytest.fail("extractall"))
    path = builders.tar_file(tmp_path / "t", {"a.txt": HERON.encode()})
    assert isinstance(result := extract(path, "t.tar.gz"), Extracted)
    assert HERON in result.text


def test_the_child_process_sees_no_secrets(monkeypatch):
    from playground.documents.isolated import _child_env

    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.setenv("DATABASE_URL", "postgres://user:pw@db/m1")
    env = _child_env()
    assert "SECRET_KEY" not in env and "DATABASE_URL" not in env
    assert "PATH" in env and env["PYTHONPATH"]
