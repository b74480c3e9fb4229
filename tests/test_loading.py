import gzip
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mtl_core import csv_parse
from mtl_core.cleaning import clean_column
from mtl_core.errors import InputError
from mtl_core.load_records import BOOLEAN_SPELLINGS_ATTR
from mtl_core.loading import FileInfo, LoadedData, LoadNote, load_csvs

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NO_SHARED_DATA = (
    "real datasets not present: they live in ../shared/data beside the repo"
)


def write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def load_text(tmp_path: Path, content: str | bytes, name: str = "data.csv"):
    return load_csvs([write(tmp_path, content, name)])


def notes_of(loaded: LoadedData, kind: str, column: str | None = None):
    return [
        note
        for note in loaded.notes
        if note.kind == kind and (column is None or note.column == column)
    ]


def values(loaded: LoadedData, column: str) -> list:
    return (
        loaded.frame[column]
        .astype(object)
        .where(loaded.frame[column].notna(), None)
        .tolist()
    )


# Delimiters and ragged rows


@pytest.mark.parametrize(
    ("delimiter", "word"),
    [(";", "semicolon"), ("\t", "tab"), ("|", "pipe"), (",", "comma")],
    ids=["semicolon", "tab", "pipe", "comma"],
)
def test_delimiter_detected(tmp_path, delimiter, word):
    rows = [["name", "city", "clicks"], ["a", "x, y", "1"], ["b", "z", "2"]]
    text = "\n".join(
        delimiter.join(f'"{cell}"' if "," in cell else cell for cell in row)
        for row in rows
    )
    loaded = load_text(tmp_path, text + "\n")
    assert loaded.files[0].delimiter == delimiter
    assert list(loaded.frame.columns) == ["name", "city", "clicks", "source_file"]
    assert values(loaded, "clicks") == [1, 2]
    assert any(word in note.message for note in notes_of(loaded, "delimiter"))


def test_colon_separated_file_warns_as_one_column(tmp_path):
    text = "name:city:clicks\na:x:1\nb:z:2\n"

    loaded = load_text(tmp_path, text)

    assert list(loaded.frame.columns) == ["name:city:clicks", "source_file"]
    (note,) = notes_of(loaded, "one_column")
    assert note.is_warning
    assert "save it again with commas, semicolons, tabs or pipes" in note.message


def test_delimiter_ignores_quoted_fields(tmp_path):
    text = 'a;b\n"1,5;x\n2,3";4\n"5,6";7\n"8";9\n'
    loaded = load_text(tmp_path, text)
    assert loaded.files[0].delimiter == ";"
    assert values(loaded, "a")[0] == "1,5;x\n2,3"
    assert len(loaded.frame) == 3


def test_ragged_short_rows_padded(tmp_path):
    loaded = load_text(tmp_path, "a|b|c\n1|2|3\n4|5\n6\n7|8|9\n")
    assert loaded.files[0].padded_rows == 2
    assert values(loaded, "c") == [3, None, None, 9]
    assert values(loaded, "b") == [2, 5, None, 8]
    assert notes_of(loaded, "padded_rows")[0].count == 2
    assert "rows 3, 4, counting" in notes_of(loaded, "padded_rows")[0].message


def test_padded_row_numbers_skip_blank_lines(tmp_path):
    loaded = load_text(tmp_path, "\n\na|b\n1|2\n\n  \n3\n")
    assert "(row 3, counting" in notes_of(loaded, "padded_rows")[0].message


def test_long_rows_keep_extra_fields(tmp_path):
    loaded = load_text(tmp_path, "a,b\n1,2\n3,4,oops\n")
    assert values(loaded, "extra_1") == [None, "oops"]
    assert notes_of(loaded, "extra_fields")[0].count == 1
    assert notes_of(loaded, "extra_fields")[0].is_warning


def test_trailing_delimiters_dropped(tmp_path):
    loaded = load_text(tmp_path, "a,b,\n1,2,\n3,4,\n")
    assert list(loaded.frame.columns) == ["a", "b", "source_file"]
    assert notes_of(loaded, "empty_column_dropped")[0].count == 1


def test_unclosed_quote_rejected(tmp_path):
    with pytest.raises(InputError, match=r"data\.csv: the record starting on line 3"):
        load_text(tmp_path, 'a,b\n1,2\n3,"never closed\n4,5\n')


# Value cleaning


@pytest.mark.parametrize(
    ("cells", "expected", "kinds"),
    [
        (
            ["1.234,56", "12,5", "7"],
            [1234.56, 12.5, 7.0],
            {"decimal_comma", "thousands"},
        ),
        (["1,234.56", "12.5", "7"], [1234.56, 12.5, 7.0], {"thousands"}),
        (["12,5", "0,25"], [12.5, 0.25], {"decimal_comma"}),
        (["1.234.567", "12"], [1234567.0, 12.0], {"thousands"}),
        (["1 234,5", "2 000,25"], [1234.5, 2000.25], {"decimal_comma", "thousands"}),
        (["$1,200.50", "$3", "(45.00)"], [1200.5, 3.0, -45.0], {"currency"}),
        (["€80", "€1.5"], [80.0, 1.5], {"currency"}),
        (["80 EUR", "1,5 EUR"], [80.0, 1.5], {"currency", "decimal_comma"}),
        (["USD 10", "USD -2"], [10.0, -2.0], {"currency"}),
        (["3.5%", "10%", "0.5 %"], [0.035, 0.1, 0.005], {"percent"}),
        (["7.50E-05", "1e3"], [7.5e-05, 1000.0], set()),
        (["−5", "+3"], [-5.0, 3.0], set()),
    ],
    ids=[
        "decimal-comma-dot-thousands",
        "dot-decimal-comma-thousands",
        "decimal-comma-only",
        "dot-thousands-groups",
        "space-thousands",
        "dollar-and-parentheses",
        "euro-prefix",
        "currency-code-suffix",
        "currency-code-prefix",
        "percent",
        "scientific",
        "unicode-minus",
    ],
)
def test_numbers_parsed(tmp_path, cells, expected, kinds):
    text = "v;other\n" + "".join(f"{cell};x\n" for cell in cells)
    loaded = load_text(tmp_path, text)
    assert pd.api.types.is_numeric_dtype(loaded.frame["v"])
    assert np.allclose(loaded.frame["v"].to_numpy(), expected)
    assert kinds <= {note.kind for note in loaded.notes if note.column == "v"}


def test_decimal_comma_never_merges_digits(tmp_path):
    cells = ["1.234,56"] * 40 + ["1,234.56"]
    loaded = load_text(tmp_path, "v;w\n" + "".join(f"{cell};x\n" for cell in cells))
    assert loaded.frame["v"].max() == pytest.approx(1234.56)
    assert loaded.frame["v"].isna().sum() == 1
    assert notes_of(loaded, "text_to_missing", "v")[0].count == 1


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("v;w\n29,085;x\n131,234;x\n", [29.085, 131.234], "decimal_comma"),
        ('v,w\n"29,085",x\n"131,234",x\n', [29085.0, 131234.0], "thousands"),
        ('v,w\n"29,085",x\n"0,512",x\n', [29.085, 0.512], "decimal_comma"),
        ("v;w\n29.085;x\n131.234;x\n", [29.085, 131.234], None),
    ],
    ids=["semicolon-file", "comma-file", "leading-zero", "dot-in-semicolon-file"],
)
def test_ambiguous_separators_resolved(tmp_path, text, expected, kind):
    loaded = load_text(tmp_path, text)
    assert np.allclose(loaded.frame["v"].to_numpy(), expected)
    if kind is not None:
        assert len(notes_of(loaded, kind, "v")) == 1


def test_ambiguous_separators_noted(tmp_path):
    loaded = load_text(tmp_path, "v;w\n29,085;x\n131,234;x\n")
    assert "semicolon-separated" in notes_of(loaded, "decimal_comma", "v")[0].message


def test_currency_notes_count_cells(tmp_path):
    loaded = load_text(tmp_path, 'amount\n"$1,200.50"\n$3\n(45.00)\n')
    assert values(loaded, "amount") == [1200.5, 3.0, -45.0]
    assert notes_of(loaded, "currency", "amount")[0].count == 2
    assert "'$'" in notes_of(loaded, "currency", "amount")[0].message
    assert notes_of(loaded, "negative_parentheses", "amount")[0].count == 1
    assert notes_of(loaded, "thousands", "amount")[0].count == 1


def test_mixed_currencies_stay_text(tmp_path):
    loaded = load_text(tmp_path, "amount\n$5\n€6\n$7\n")
    assert values(loaded, "amount") == ["$5", "€6", "$7"]
    assert "'$', '€'" in notes_of(loaded, "kept_as_text", "amount")[0].message


def test_percent_labels_stay_categories(tmp_path):
    loaded = load_text(tmp_path, "rate,income\n3.5%,>50%\n10%,<=50K\n,>50%\n")
    assert values(loaded, "rate") == [0.035, 0.1, None]
    assert notes_of(loaded, "percent", "rate")[0].count == 2
    assert values(loaded, "income") == [">50%", "<=50K", ">50%"]
    assert pd.api.types.is_string_dtype(loaded.frame["income"])


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["TRUE", "FALSE", "true"], [True, False, True]),
        (["yes", "No", "YES"], [True, False, True]),
        (["Y", "N", ""], [True, False, None]),
        (["t", "f"], [True, False]),
    ],
    ids=["true-false", "yes-no", "y-n-with-empty", "t-f"],
)
def test_booleans_parsed(tmp_path, cells, expected):
    loaded = load_text(
        tmp_path, "flag,id\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells))
    )
    assert loaded.frame["flag"].dtype == "boolean"
    assert values(loaded, "flag") == expected
    assert notes_of(loaded, "boolean", "flag")[0].count == sum(
        v is not None for v in expected
    )


@pytest.mark.parametrize(
    ("cells", "mapping"),
    [
        (["Yes", "No", "no"], "Yes as True, No/no as False"),
        (["No", "No"], "No as False"),
    ],
    ids=["both", "false-only"],
)
def test_boolean_note_names_spellings(tmp_path, cells, mapping):
    loaded = load_text(
        tmp_path, "flag,id\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells))
    )

    message = notes_of(loaded, "boolean", "flag")[0].message
    assert message.endswith(f"as booleans: {mapping}."), message


@pytest.mark.parametrize(
    ("cells", "spellings"),
    [
        (["yes", "no", "yes"], ("no", "yes")),
        (["Yes", "yes", "yes", "No", "no", "no"], ("no", "yes")),
        (["Yes", "No", "No"], ("No", "Yes")),
        (["Y", "n", "Y"], ("N", "Y")),
        (["YES", "no", "Y", "YES", "N"], ("NO", "YES")),
        (["yes", "yes"], ("no", "yes")),
        (["TRUE", "FALSE", "true"], None),
        (["True ", "false"], None),
    ],
    ids=[
        "yes-no",
        "most-common",
        "title-case",
        "y-n",
        "mixed-words",
        "true-only",
        "true-false",
        "trimmed",
    ],
)
def test_boolean_spellings_recorded(tmp_path, cells, spellings):
    loaded = load_text(
        tmp_path, "flag,id\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells))
    )

    recorded = loaded.frame.attrs[BOOLEAN_SPELLINGS_ATTR]
    assert recorded.get("flag") == spellings
    assert notes_of(loaded, "boolean", "flag")[0].boolean_spellings == spellings


def test_yes_no_unknown_stays_category(tmp_path):
    loaded = load_text(tmp_path, "housing\nyes\nno\nunknown\n")
    assert values(loaded, "housing") == ["yes", "no", "unknown"]


def test_missing_markers_counted(tmp_path):
    cells = [
        "inf",
        "-inf",
        "#DIV/0!",
        "NaN",
        "n/a",
        "N/A",
        "NA",
        "null",
        "None",
        "-",
        "?",
        "",
        "  ",
    ]
    text = "v,w\n" + "".join(f"{cell},x\n" for cell in cells) + "1.5,x\n2,x\n"
    loaded = load_text(tmp_path, text)
    assert values(loaded, "v") == [None] * len(cells) + [1.5, 2.0]
    assert notes_of(loaded, "missing", "v")[0].count == len(cells)
    assert "1 '#DIV/0!'" in notes_of(loaded, "missing", "v")[0].message


def test_float_column_nan_and_inf_missing(tmp_path):
    loaded = load_text(tmp_path, "v,w\n1.5,x\nNaN,x\ninf,x\n-inf,x\n,x\n2,x\n")
    assert values(loaded, "v") == [1.5, None, None, None, None, 2.0]
    assert notes_of(loaded, "missing", "v")[0].count == 4


def test_mostly_numbers_become_numeric(tmp_path):
    cells = [str(i) for i in range(97)] + ["unknown", "unknown", "see note"]
    loaded = load_text(tmp_path, "v\n" + "\n".join(cells) + "\n")
    note = notes_of(loaded, "text_to_missing", "v")[0]
    assert pd.api.types.is_numeric_dtype(loaded.frame["v"])
    assert loaded.frame["v"].isna().sum() == 3
    assert note.count == 3
    assert "numeric" in note.message
    assert "'unknown', 'see note'" in note.message


def test_some_numbers_stay_text(tmp_path):
    cells = [str(i) for i in range(80)] + ["unknown"] * 20
    loaded = load_text(tmp_path, "v\n" + "\n".join(cells) + "\n")
    note = notes_of(loaded, "kept_as_text", "v")[0]
    assert pd.api.types.is_string_dtype(loaded.frame["v"])
    assert "kept as text" in note.message
    assert "80.0%" in note.message
    assert note.is_warning


def test_strings_stripped(tmp_path):
    loaded = load_text(tmp_path, "age,work\n39, Private\n50, Self-emp\n38, ?\n")
    assert values(loaded, "work") == ["Private", "Self-emp", None]
    assert notes_of(loaded, "whitespace", "work")[0].count == 2
    assert notes_of(loaded, "missing", "work")[0].count == 1


def test_repeated_text_becomes_category(tmp_path):
    text = "job,name\n" + "".join(
        f"{job},person {i}\n"
        for i, job in enumerate([" admin.", "admin.", "retired"] * 4)
    )
    loaded = load_text(tmp_path, text)
    assert loaded.frame["job"].dtype == "category"
    assert list(loaded.frame["job"].cat.categories) == ["admin.", "retired"]
    assert pd.api.types.is_string_dtype(loaded.frame["name"])


@pytest.mark.parametrize(
    "cells",
    [
        [" admin.", "admin.", "retired", None, "n/a"],
        ["$1,200.50", "$3.10", "$1,200.50", "-", None],
        ["yes", "no", "YES", None, "no"],
        ["2024-03-01", "2024-03-02", "2024-03-01", "", "2024-03-04"],
    ],
)
def test_plain_and_dictionary_text_clean_alike(cells):
    # pyarrow.csv leaves some text columns as plain strings, which cleaning
    # dictionary-encodes itself; both forms must give the same column and notes.
    plain = pa.chunked_array([pa.array(cells[:3]), pa.array(cells[3:])])
    encoded = pa.chunked_array([chunk.dictionary_encode() for chunk in plain.chunks])
    plain_column, plain_notes = clean_column("value", plain, "data.csv")
    encoded_column, encoded_notes = clean_column("value", encoded, "data.csv")
    assert plain_column.to_pylist() == encoded_column.to_pylist()
    assert plain_column.type == encoded_column.type
    assert plain_notes == encoded_notes


def test_census_labels_stay_text(tmp_path):
    loaded = load_text(tmp_path, "income\n - 50000.\n - 50000.\n 50000+.\n")
    assert values(loaded, "income") == ["- 50000.", "- 50000.", "50000+."]


# Dates


@pytest.mark.parametrize(
    ("cells", "date_format", "first"),
    [
        (["14/09/2018", "01/02/2019"], "%d/%m/%Y", "2018-09-14"),
        (["09/14/2018", "02/01/2019"], "%m/%d/%Y", "2018-09-14"),
        (["04-09-2012", "21-08-2013"], "%d-%m-%Y", "2012-09-04"),
        (["04-09-2012", "05-09-2012"], "%d-%m-%Y", "2012-09-04"),
        (["04/09/2012", "05/09/2012"], "%m/%d/%Y", "2012-04-09"),
        (
            ["14.09.2018 10:05", "01.02.2019 23:59"],
            "%d.%m.%Y %H:%M",
            "2018-09-14 10:05",
        ),
        (["2018/09/14", "2019/2/1"], "%Y/%m/%d", "2018-09-14"),
        (["14-Sep-2018", "1-Feb-2019"], "%d-%b-%Y", "2018-09-14"),
        (["Sep 14, 2018", "February 1, 2019"], "%b %d, %Y", "2018-09-14"),
    ],
    ids=[
        "day-first-slash",
        "month-first-slash",
        "day-first-dash",
        "ambiguous-dash",
        "ambiguous-slash",
        "dotted-with-time",
        "year-first-slash",
        "month-abbreviation",
        "month-name-first",
    ],
)
def test_dates_one_format_per_column(tmp_path, cells, date_format, first):
    loaded = load_text(tmp_path, "when;n\n" + "".join(f"{c};1\n" for c in cells))
    note = notes_of(loaded, "date", "when")[0]
    assert pd.api.types.is_datetime64_any_dtype(loaded.frame["when"])
    assert loaded.frame["when"].iloc[0] == pd.Timestamp(first)
    assert date_format in note.message
    assert note.count == len(cells)


def test_iso_timestamps_parsed(tmp_path):
    loaded = load_text(tmp_path, "ts\n2016-03-27 00:53:11\n2016-04-04 01:39:02\n")
    assert pd.api.types.is_datetime64_any_dtype(loaded.frame["ts"])
    assert "ISO 8601" in notes_of(loaded, "date", "ts")[0].message


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (["14/09/2018", "09/14/2018"], "exceed 12"),
        (["14/09/2018", "2018-09-15"], "do not look like the other dates"),
        (["31/02/2018", "14/09/2018"], "not valid dates"),
        (["14/09/2018", "15-09-2018"], "mix the separators"),
    ],
    ids=["both-orders", "two-formats", "invalid-day", "two-separators"],
)
def test_mixed_dates_stay_text(tmp_path, cells, reason):
    loaded = load_text(tmp_path, "when;n\n" + "".join(f"{c};1\n" for c in cells))
    assert values(loaded, "when") == cells
    assert reason in notes_of(loaded, "kept_as_text", "when")[0].message


# Encodings and binary files


def test_bom_and_quoted_header(tmp_path):
    loaded = load_text(tmp_path, b'\xef\xbb\xbf"ad_id","clicks"\r\n1,2\r\n')
    assert list(loaded.frame.columns)[0] == "ad_id"
    assert loaded.files[0].encoding == "utf-8-sig"


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ("A\u00f1o,Ciudad\n2019,Qu\u00e9bec\n".encode("cp1252"), "cp1252"),
        ("A\u00f1o,Ciudad\n2019,Qu\u00e9bec \u20ac\n".encode("cp1252"), "cp1252"),
        ("A\u00f1o,Ciudad\n2019,Qu\u00e9bec\n".encode("utf-8"), "utf-8"),
        ("A\u00f1o,Ciudad\n2019,Qu\u00e9bec\n".encode("utf-16"), "utf-16"),
    ],
    ids=["cp1252", "cp1252-euro", "utf-8", "utf-16-bom"],
)
def test_encodings_decoded(tmp_path, content, encoding):
    loaded = load_text(tmp_path, content)
    assert list(loaded.frame.columns)[:2] == ["A\u00f1o", "Ciudad"]
    assert values(loaded, "Ciudad")[0].startswith("Qu\u00e9bec")
    assert loaded.files[0].encoding == encoding
    assert encoding in notes_of(loaded, "encoding")[0].message


def test_non_utf8_late_in_file_decoded(tmp_path):
    rows = "".join(f"{i},plain\n" for i in range(70_000))
    content = ("id,city\n" + rows).encode() + "70000,Qu\u00e9bec\n".encode("cp1252")
    loaded = load_text(tmp_path, content)
    assert loaded.files[0].encoding == "cp1252"
    assert values(loaded, "city")[-1] == "Qu\u00e9bec"


def test_latin1_last_resort(tmp_path):
    loaded = load_text(tmp_path, b"name,v\nA\x81B,1\n")
    assert loaded.files[0].encoding == "latin-1"
    assert values(loaded, "name") == ["A\x81B"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a PNG image"),
        (b"PK\x03\x04\x14\x00\x06\x00", "is a ZIP archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "is an Excel 97-2003"),
        (b"a,b\n1,\x00\x002\n", "contains NUL bytes"),
        (bytes(range(1, 9)) * 40, "contains 320 control characters"),
    ],
    ids=["png", "zip", "xls", "nul-bytes", "control-bytes"],
)
def test_binary_files_rejected(tmp_path, content, message):
    with pytest.raises(
        InputError, match=f"data.csv {message}.*export the data as a CSV"
    ):
        load_text(tmp_path, content)


def test_gzip_decompressed(tmp_path):
    loaded = load_text(tmp_path, gzip.compress(b"a,b\n1,2\n"), name="data.csv.gz")
    assert values(loaded, "b") == [2]
    assert len(notes_of(loaded, "decompressed")) == 1


# Line layout


def test_quoted_line_breaks_kept(tmp_path):
    text = 'id,comment\r\n1,"first line\r\nsecond line"\r\n2,"one\nmore"\r\n3,plain\r\n'
    loaded = load_text(tmp_path, text)
    assert len(loaded.frame) == 3
    assert values(loaded, "comment") == [
        "first line\r\nsecond line",
        "one\nmore",
        "plain",
    ]


def test_quoted_line_breaks_past_sample(tmp_path):
    rows = "".join(f"{i},plain text {i}\n" for i in range(100_000))
    text = (
        "id,comment\n" + rows + '100000,"late\nbreak"\n' + rows.replace("plain", "more")
    )
    loaded = load_text(tmp_path, text)
    assert len(loaded.frame) == 200_001
    assert values(loaded, "comment")[100_000] == "late\nbreak"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "data.csv is empty"),
        (b"\n \r\n\t\n", "data.csv is empty"),
        (b"a,b,c\n", "data.csv has a header row but no data rows"),
        (b"a,b,c", "data.csv has a header row but no data rows"),
        (b"\xef\xbb\xbfa;b\r\n\r\n", "data.csv has a header row but no data rows"),
    ],
    ids=["empty", "blank-lines-only", "header-only", "header-no-newline", "header-bom"],
)
def test_empty_files_rejected(tmp_path, content, message):
    with pytest.raises(InputError, match=message):
        load_text(tmp_path, content)


@pytest.mark.parametrize(
    "content",
    [
        b"\n\n  \na,b\n1,2\n3,4\n",
        b"a,b\r1,2\r3,4\r",
        b"a,b\r\n1,2\r\n3,4",
        b"a,b\n1,2\n\n3,4\n",
        b"a,b\n1,2\n   \n3,4\n",
    ],
    ids=[
        "leading-blank-lines",
        "cr-only",
        "crlf-no-final-newline",
        "inner-empty",
        "inner-blank",
    ],
)
def test_line_layouts_load(tmp_path, content):
    loaded = load_text(tmp_path, content)
    assert values(loaded, "a") == [1, 3]
    assert values(loaded, "b") == [2, 4]


def test_leading_blank_lines_noted(tmp_path):
    loaded = load_text(tmp_path, "\n\r\n  \na,b\n1,2\n")
    assert notes_of(loaded, "blank_lines")[0].count == 3


# Header


def test_duplicate_names_kept_unique(tmp_path):
    loaded = load_text(tmp_path, "Clicks,Clicks,Clicks,Spent\n1,2,3,4\n")
    duplicates = notes_of(loaded, "duplicate_column")
    assert list(loaded.frame.columns)[:4] == [
        "Clicks",
        "Clicks (2)",
        "Clicks (3)",
        "Spent",
    ]
    assert values(loaded, "Clicks (2)") == [2]
    assert len(duplicates) == 2
    assert all(note.is_warning for note in duplicates)


def test_duplicate_name_avoids_existing_suffix(tmp_path):
    loaded = load_text(tmp_path, "Clicks,Clicks (2),Clicks\n1,2,3\n")
    assert list(loaded.frame.columns)[:3] == ["Clicks", "Clicks (2)", "Clicks (3)"]


def test_header_names_cleaned(tmp_path):
    loaded = load_text(tmp_path, ' Age ,,\'Spent\',"""Name"""\n1,2,3,x\n')
    assert list(loaded.frame.columns)[:4] == ["Age", "column_2", "Spent", "Name"]
    assert len(notes_of(loaded, "column_name")) == 4


def test_header_special_characters_kept(tmp_path):
    header = '"Cost, total [USD]",a:b,{c},"say ""hi""",Ad Group,Ad_Group,101'
    loaded = load_text(tmp_path, header + "\n1,2,3,4,5,6,7\n")
    expected = [
        "Cost, total [USD]",
        "a:b",
        "{c}",
        'say "hi"',
        "Ad Group",
        "Ad_Group",
        "101",
    ]
    assert list(loaded.frame.columns)[:7] == expected
    assert values(loaded, "101") == [7]


def test_header_looking_like_data_noted(tmp_path):
    loaded = load_text(
        tmp_path, "1, Private, Married\n2, Private, Single\n3, Self, Married\n"
    )
    assert len(loaded.frame) == 2
    assert notes_of(loaded, "header_suspect")[0].is_warning


# Several files


def test_files_stacked_with_source(tmp_path):
    first = write(tmp_path, "a,b\n1,x\n2,y\n", "jan.csv")
    second = write(tmp_path, "b;a\nz;3.5\n", "feb.csv")
    loaded = load_csvs([first, second])
    assert list(loaded.frame.columns) == ["a", "b", "source_file"]
    assert values(loaded, "a") == [1.0, 2.0, 3.5]
    assert values(loaded, "source_file") == ["jan.csv", "jan.csv", "feb.csv"]
    assert [info.n_rows for info in loaded.files] == [2, 1]
    assert [info.delimiter for info in loaded.files] == [",", ";"]


def test_same_file_twice_loaded_once(tmp_path):
    content = b"a,b\n1,x\n2,y\n"
    other = b"a,b\n3,z\n"

    loaded = load_csvs([("jan.csv", content), ("feb.csv", other), ("jan.csv", content)])

    assert values(loaded, "a") == [1, 2, 3]
    assert values(loaded, "source_file") == ["jan.csv", "jan.csv", "feb.csv"]
    assert [info.n_rows for info in loaded.files] == [2, 1]
    copies = [note for note in loaded.notes if note.kind == "duplicate_file"]
    assert len(copies) == 1
    assert copies[0].is_warning
    assert copies[0].message.startswith(
        "jan.csv (2) has the same content as jan.csv, so it was loaded once"
    )


def test_files_cleaned_together(tmp_path):
    first = write(tmp_path, "when,n\n04/09/2012,1\n", "one.csv")
    second = write(tmp_path, "when,n\n14/09/2012,2\n", "two.csv")
    loaded = load_csvs([first, second])
    assert loaded.frame["when"].iloc[0] == pd.Timestamp("2012-09-04")
    assert notes_of(loaded, "date", "when")[0].file is None


def test_files_with_different_types_stacked(tmp_path):
    first = write(tmp_path, "a,b\n1,2016-03-27\n2,2016-03-28\n", "one.csv")
    second = write(tmp_path, "a,b\nn/a,n/a\n4,2016-03-29\n", "two.csv")
    loaded = load_csvs([first, second])
    assert values(loaded, "a") == [1.0, 2.0, None, 4.0]
    assert pd.api.types.is_datetime64_any_dtype(loaded.frame["b"])
    assert loaded.frame["b"].isna().sum() == 1


def test_files_with_different_columns_rejected(tmp_path):
    first = write(tmp_path, "a,b,c\n1,2,3\n", "one.csv")
    second = write(tmp_path, "a,b,d\n1,2,3\n", "two.csv")
    with pytest.raises(
        InputError, match=r"two\.csv lacks column 'c' and has the extra column 'd'"
    ):
        load_csvs([first, second])


def test_same_file_names_made_unique(tmp_path):
    (tmp_path / "x").mkdir()
    first = write(tmp_path, "a\n1\n")
    second = write(tmp_path / "x", "a\n2\n")
    loaded = load_csvs([first, second])
    assert values(loaded, "source_file") == ["data.csv", "data.csv (2)"]


def test_existing_source_file_column_kept(tmp_path):
    loaded = load_text(tmp_path, "source_file,a\norig.csv,1\n")
    assert values(loaded, "source_file") == ["orig.csv"]
    assert values(loaded, "source_file (2)") == ["data.csv"]
    assert notes_of(loaded, "source_file_column")[0].column == "source_file (2)"


def test_upload_bytes_accepted():
    loaded = load_csvs([("upload.csv", b"a;b\n1;2\n")])
    assert loaded.files[0] == FileInfo("upload.csv", ";", "utf-8", 1, 2, 0)
    assert values(loaded, "source_file") == ["upload.csv"]


def test_single_source_accepted(tmp_path):
    loaded = load_csvs(write(tmp_path, "a\n1\n"))
    assert values(loaded, "a") == [1]


@pytest.mark.parametrize(
    ("sources", "message"),
    [([], "No CSV file was given"), (["/nonexistent/x.csv"], "CSV file not found")],
    ids=["no-sources", "missing-path"],
)
def test_bad_sources_rejected(sources, message):
    with pytest.raises(InputError, match=message):
        load_csvs(sources)


def test_source_bytes_not_written(tmp_path):
    path = write(tmp_path, "a,b\n$1,2\n")
    before = path.read_bytes()
    load_csvs([path])
    assert path.read_bytes() == before


def test_frame_writable(tmp_path):
    loaded = load_text(tmp_path, "a,b,c,d\n1.5,2,x,yes\n2.5,3,y,no\n")
    loaded.frame.loc[0, "a"] = 10.0
    loaded.frame.loc[0, "b"] = 5
    loaded.frame.loc[0, "d"] = False
    assert loaded.frame.loc[0, "a"] == 10.0
    assert loaded.frame.loc[0, "b"] == 5
    assert not loaded.frame.loc[0, "d"]


def test_notes_logged(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="mtl_core.loading"):
        load_text(tmp_path, "a,a\n1,2\n")
    assert any("Loaded 1 rows" in record.message for record in caplog.records)
    assert any(record.levelno == logging.WARNING for record in caplog.records)


# Parsers and large columns


def test_python_parser_matches_pyarrow(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_parse, "MAX_REPAIRED_ROWS", -1)
    body = "$1,200.50,yes,14/09/2018,x\n$3,no,01/02/2019,y\n"
    clean = load_text(tmp_path, "amount,flag,when,text\n" + body, "clean.csv")
    ragged = load_text(
        tmp_path, "amount,flag,when,text\n" + body + "$4\n", "ragged.csv"
    )
    assert list(ragged.frame.dtypes)[:4] == list(clean.frame.dtypes)[:4]
    assert ragged.frame.iloc[:2, :4].equals(clean.frame.iloc[:, :4])


def random_ragged_csv(rng: np.random.Generator) -> bytes:
    n_columns = int(rng.integers(2, 6))
    lines = [",".join(f"c{j}" for j in range(n_columns))]
    cells = ["1", "7", "x", "", "1.5", '"a,b"', "yes"]
    for _ in range(int(rng.integers(1, 30))):
        width = n_columns + int(rng.choice([-1, 0, 0, 0, 0, 1, 2]))
        width = max(width, 1)
        lines.append(",".join(rng.choice(cells, size=width)))
        if rng.random() < 0.1:
            lines.append(str(rng.choice(["", "   ", ","])))
    return ("\n".join(lines) + "\n").encode()


def test_repaired_rows_match_python_parser(monkeypatch):
    rng = np.random.default_rng(0)
    for _ in range(40):
        content = random_ragged_csv(rng)
        repaired = load_csvs([("t.csv", content)])
        with monkeypatch.context() as patch:
            patch.setattr(csv_parse, "MAX_REPAIRED_ROWS", -1)
            parsed = load_csvs([("t.csv", content)])
        assert repaired.frame.astype(str).equals(parsed.frame.astype(str)), content
        assert [note.message for note in repaired.notes] == [
            note.message for note in parsed.notes
        ], content


def test_large_columns_sampled(tmp_path):
    rng = np.random.default_rng(0)
    amounts = rng.uniform(0, 5000, 60_000)
    rows = "".join(
        f'"${amount:,.2f}",C{i:07d},{amount:.3f}\n' for i, amount in enumerate(amounts)
    )
    rows += '"n/a",C9999999, free text\n'
    loaded = load_text(tmp_path, "spend,id,plain\n" + rows)
    assert np.allclose(loaded.frame["spend"].iloc[:-1], amounts.round(2))
    assert loaded.frame["spend"].isna().sum() == 1
    assert notes_of(loaded, "currency", "spend")[0].count == 60_000
    assert pd.api.types.is_string_dtype(loaded.frame["id"])
    assert pd.api.types.is_float_dtype(loaded.frame["plain"])
    assert notes_of(loaded, "text_to_missing", "plain")[0].count == 1


def test_note_fields():
    note = LoadNote("f.csv", "c", "missing", "Column 'c': 1 cell read as missing.", 1)
    assert note.is_warning is False
    assert LoadNote(None, None, "padded_rows", "m").is_warning


# Real datasets


def real_files() -> list:
    if not SHARED_DATA.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_SHARED_DATA))]
    paths = sorted(SHARED_DATA.rglob("*.csv")) + sorted(SHARED_DATA.rglob("*.sample"))
    return [pytest.param(path, id=path.name) for path in paths]


def real_file(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.is_file():
        pytest.skip(NO_SHARED_DATA)
    return path


@pytest.mark.parametrize("path", real_files())
def test_real_file_loads(path):
    loaded = load_csvs([path])
    assert len(loaded.frame) > 0
    assert loaded.files[0].n_columns == loaded.frame.shape[1] - 1


def test_real_bank_full():
    loaded = load_csvs([real_file("bank_marketing", "bank-full.csv")])
    assert loaded.frame.shape == (45211, 18)
    assert loaded.files[0].delimiter == ";"
    assert loaded.frame["y"].dtype == "boolean"


def test_real_marketing_campaign():
    loaded = load_csvs(
        [real_file("customer_personality_ifood", "marketing_campaign.csv")]
    )
    assert loaded.files[0].delimiter == "\t"
    assert len(loaded.frame) == 2240
    assert loaded.frame["Income"].isna().sum() == 24
    assert notes_of(loaded, "missing", "Income")[0].count == 24
    assert pd.api.types.is_datetime64_any_dtype(loaded.frame["Dt_Customer"])


def test_real_fb_ads_bom():
    loaded = load_csvs([real_file("fb_ad_conversion", "KAG_conversion_data.csv")])
    assert loaded.frame.columns[0] == "ad_id"
    assert len(loaded.frame) == 1143


def test_real_telco_total_charges():
    path = real_file("telco_churn_blastchar", "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    loaded = load_csvs([path])
    assert pd.api.types.is_float_dtype(loaded.frame["TotalCharges"])
    assert loaded.frame["TotalCharges"].isna().sum() == 11


def test_real_online_shoppers_revenue():
    path = real_file("online_shoppers_intention", "online_shoppers_intention.csv")
    loaded = load_csvs([path])
    assert loaded.frame["Revenue"].dtype == "boolean"
    assert pd.api.types.is_float_dtype(loaded.frame["ExitRates"])


def test_real_advertising_blank_first_line():
    loaded = load_csvs([real_file("advertising_click", "advertising.csv")])
    assert len(loaded.frame) == 1000
    assert loaded.frame.columns[0] == "Daily Time Spent on Site"


def test_real_census_without_header():
    loaded = load_csvs([real_file("census_income_kdd", "census-income.sample")])
    assert len(loaded.frame) == 199
    assert len(notes_of(loaded, "header_suspect")) == 1


def test_real_ali_ccp_numeric_names():
    loaded = load_csvs([real_file("ali_ccp_sample", "ali_ccp_train_sample.csv")])
    assert "101" in loaded.frame.columns
    assert len(loaded.frame) == 100


def test_excel_separator_line_skipped(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfsep=;\r\nname;spend\r\na;1,5\r\nb;2,5\r\n")
    loaded = load_csvs([path])
    assert list(loaded.frame.columns[:2]) == ["name", "spend"]
    assert loaded.frame["spend"].tolist() == [1.5, 2.5]
    assert any(note.kind == "excel_separator_line" for note in loaded.notes)


def test_mixed_boolean_spellings_one_column(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text("flag\nTRUE\nFALSE\nyes\nno\nY\n")
    loaded = load_csvs([path])
    assert loaded.frame["flag"].tolist() == [True, False, True, False, True]


def test_repeated_header_rows_dropped(tmp_path):
    path = tmp_path / "joined.csv"
    path.write_text("name,spend\na,1\nb,2\nname,spend\nc,3\n")
    loaded = load_csvs([path])
    assert loaded.frame["name"].tolist() == ["a", "b", "c"]
    assert loaded.frame["spend"].tolist() == [1, 2, 3]
    notes = [note for note in loaded.notes if note.kind == "repeated_header"]
    assert notes[0].count == 1
