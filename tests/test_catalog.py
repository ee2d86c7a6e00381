"""The KPI catalog: built-in definitions, words that find them, and kpis.toml validation."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

import kpi.catalog
from kpi.catalog import (
    BUILTIN,
    Catalog,
    Direction,
    LevelGrowthKpi,
    RatioKpi,
    SumKpi,
    UniqueKpi,
    Unit,
    UnknownKpiError,
    load_catalog,
    normalize,
)
from kpi.errors import ConfigError
from kpi.formula import parse
from kpi.measures import Measure

FIXTURES = Path(__file__).parent / "fixtures" / "kpis"

#: One week of an imaginary account, summed per measure.
SUMS: dict[Measure, float | None] = {
    Measure.IMPRESSIONS: 10_000,
    Measure.CLICKS: 123,
    Measure.SPEND: 250,
    Measure.REVENUE: 1000,
    Measure.CONVERSIONS: 10,
    Measure.NEW_CUSTOMERS: 4,
    Measure.LIKES: 300,
    Measure.COMMENTS: 50,
    Measure.SHARES: 25,
    Measure.SAVES: 25,
    Measure.SENTIMENT_POSITIVE: 30,
    Measure.SENTIMENT_NEUTRAL: 15,
    Measure.SENTIMENT_NEGATIVE: 5,
    Measure.VIDEO_VIEWS: 4000,
}

#: The KPI table of DESIGN.md: name, expected value on SUMS, unit, direction, min_volume.
TABLE: list[tuple[str, float | None, Unit, Direction, float]] = [
    ("impressions", 10_000, Unit.COUNT, Direction.HIGHER, 0),
    ("clicks", 123, Unit.COUNT, Direction.HIGHER, 0),
    ("spend", 250, Unit.CURRENCY, Direction.NEUTRAL, 0),
    ("revenue", 1000, Unit.CURRENCY, Direction.HIGHER, 0),
    ("conversions", 10, Unit.COUNT, Direction.HIGHER, 0),
    ("engagements", 400, Unit.COUNT, Direction.HIGHER, 0),
    ("engagement_rate", 0.04, Unit.PERCENT, Direction.HIGHER, 1000),
    ("ctr", 0.0123, Unit.PERCENT, Direction.HIGHER, 1000),
    ("cpc", 250 / 123, Unit.CURRENCY, Direction.LOWER, 20),
    ("cpm", 25.0, Unit.CURRENCY, Direction.LOWER, 1000),
    ("conversion_rate", 10 / 123, Unit.PERCENT, Direction.HIGHER, 20),
    ("cpa", 25.0, Unit.CURRENCY, Direction.LOWER, 5),
    ("cac", 62.5, Unit.CURRENCY, Direction.LOWER, 5),
    ("roas", 4.0, Unit.RATIO, Direction.HIGHER, 50),
    ("roi", 3.0, Unit.PERCENT, Direction.HIGHER, 50),
    ("sentiment", 0.6, Unit.PERCENT, Direction.HIGHER, 20),
    ("net_sentiment", 0.5, Unit.PERCENT, Direction.HIGHER, 20),
    ("follower_growth", None, Unit.COUNT, Direction.HIGHER, 0),
    ("reach", None, Unit.COUNT, Direction.HIGHER, 0),
]
COMPUTED = [row[:2] for row in TABLE if row[1] is not None]


def test_builtins_are_the_design_table_in_its_order() -> None:
    assert BUILTIN.names() == tuple(row[0] for row in TABLE)
    assert [kpi.name for kpi in BUILTIN] == list(BUILTIN.names())
    assert len(BUILTIN) == len(TABLE)


@pytest.mark.parametrize(("name", "expected", "unit", "direction", "min_volume"), TABLE)
def test_builtin_metadata(
    name: str, expected: float | None, unit: Unit, direction: Direction, min_volume: float
) -> None:
    kpi = BUILTIN[name]
    assert (kpi.unit, kpi.direction, kpi.min_volume) == (unit, direction, min_volume)
    assert kpi.description and "\n" not in kpi.description


@pytest.mark.parametrize(("name", "expected"), COMPUTED)
def test_builtin_values_on_known_sums(name: str, expected: float) -> None:
    kpi = BUILTIN[name]
    assert isinstance(kpi, SumKpi | RatioKpi)
    assert kpi.value(SUMS) == pytest.approx(expected)
    assert kpi.formula.evaluate(SUMS) == kpi.value(SUMS)


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("engagements", "likes + comments + shares + saves"),
        ("engagement_rate", "(likes + comments + shares + saves) / impressions"),
        ("cpm", "spend / impressions * 1000"),
        ("roi", "(revenue - spend) / spend"),
        (
            "net_sentiment",
            "(sentiment_positive - sentiment_negative) / "
            "(sentiment_positive + sentiment_neutral + sentiment_negative)",
        ),
    ],
)
def test_builtin_formulas_read_like_the_design(name: str, formula: str) -> None:
    kpi = BUILTIN[name]
    assert isinstance(kpi, SumKpi | RatioKpi)
    assert str(kpi.formula) == formula


def test_ctr_is_a_fraction_and_cpm_is_scaled() -> None:
    ctr, cpm = BUILTIN["ctr"], BUILTIN["cpm"]
    assert isinstance(ctr, RatioKpi) and isinstance(cpm, RatioKpi)
    assert ctr.value({Measure.CLICKS: 123, Measure.IMPRESSIONS: 10_000}) == pytest.approx(0.0123)
    assert (ctr.scale, cpm.scale) == (1.0, 1000)
    assert cpm.numerator == parse("spend") and cpm.denominator == parse("impressions")


@pytest.mark.parametrize("name", [name for name, _ in COMPUTED])
def test_missing_measures_give_no_value(name: str) -> None:
    kpi = BUILTIN[name]
    assert isinstance(kpi, SumKpi | RatioKpi)
    assert kpi.value({}) is None
    assert kpi.value(dict.fromkeys(kpi.measures())) is None


@pytest.mark.parametrize("kpi", [kpi for kpi in BUILTIN if isinstance(kpi, RatioKpi)])
def test_zero_denominators_give_no_value_never_zero_nan_or_inf(kpi: RatioKpi) -> None:
    zeros: Mapping[Measure, float | None] = {
        **SUMS,
        **dict.fromkeys(kpi.denominator.measures(), 0.0),
    }
    assert kpi.value(zeros) is None
    assert kpi.volume(zeros) == 0


def test_volume_is_what_min_volume_is_compared_with() -> None:
    ctr, clicks, sentiment = BUILTIN["ctr"], BUILTIN["clicks"], BUILTIN["sentiment"]
    assert isinstance(ctr, RatioKpi) and isinstance(sentiment, RatioKpi)
    assert isinstance(clicks, SumKpi)
    assert ctr.volume(SUMS) == 10_000
    assert sentiment.volume(SUMS) == 50
    assert clicks.volume(SUMS) == 123


def test_reach_and_follower_growth_are_their_own_kinds() -> None:
    reach, growth = BUILTIN["reach"], BUILTIN["follower_growth"]
    assert isinstance(reach, UniqueKpi) and reach.measures() == {Measure.REACH}
    assert isinstance(growth, LevelGrowthKpi)
    assert (growth.flow, growth.level) == (Measure.FOLLOWS, Measure.FOLLOWERS)


@pytest.mark.parametrize(
    ("word", "name"),
    [
        ("CTR", "ctr"),
        ("click-through-rate", "ctr"),
        ("taux-de-clic", "ctr"),
        ("Taux_De_Clic", "ctr"),
        ("portee", "reach"),
        ("portée", "reach"),
        ("PORTÉE", "reach"),
        ("engagement-rate", "engagement_rate"),
        ("taux-d-engagement", "engagement_rate"),
        ("taux-engagement", "engagement_rate"),
        ("taux-de-conversion", "conversion_rate"),
        ("cout-par-clic", "cpc"),
        ("coût-par-clic", "cpc"),
        ("cout-acquisition", "cac"),
        ("coût-acquisition", "cac"),
        ("retour-sur-investissement", "roi"),
        ("croissance-abonnes", "follower_growth"),
        ("croissance-abonnés", "follower_growth"),
        ("cout-pour-mille", "cpm"),
        ("cout-par-acquisition", "cpa"),
        ("roas", "roas"),
        ("sentiment-positif", "sentiment"),
        ("sentiment-net", "net_sentiment"),
        ("impressions", "impressions"),
        ("clics", "clicks"),
        ("depenses", "spend"),
        ("dépenses", "spend"),
        ("revenu", "revenue"),
        ("chiffre-affaires", "revenue"),
        ("conversions", "conversions"),
        ("interactions", "engagements"),
        (" ctr ", "ctr"),
    ],
)
def test_names_and_aliases_in_english_and_french(word: str, name: str) -> None:
    assert word in BUILTIN
    assert BUILTIN[word].name == name


@pytest.mark.parametrize(
    ("word", "first"),
    [("crt", "ctr"), ("cpcc", "cpc"), ("taux-de-clik", "ctr"), ("portes", "reach")],
)
def test_suggestions_put_the_closest_kpi_first(word: str, first: str) -> None:
    assert BUILTIN.suggest(word)[0] == first
    assert len(BUILTIN.suggest(word, n=1)) == 1


def test_unknown_words_raise_with_suggestions() -> None:
    with pytest.raises(UnknownKpiError, match=r"unknown KPI 'crt'; did you mean ctr") as caught:
        BUILTIN["crt"]
    assert caught.value.suggestions[0] == "ctr"
    assert BUILTIN.get("nothing-like-it") is None
    assert BUILTIN.suggest("nothing-like-it") == ()
    assert str(UnknownKpiError("xyz", ())) == "unknown KPI 'xyz'"
    assert 42 not in BUILTIN


def test_normalize_ignores_case_accents_and_underscores() -> None:
    assert normalize(" Coût_Par_CLIC ") == "cout-par-clic"


def test_a_catalog_refuses_one_word_for_two_kpis() -> None:
    ctr = BUILTIN["ctr"]
    other = SumKpi(
        name="taux",
        formula=parse("clicks"),
        unit=Unit.COUNT,
        description="Clicks, under a clashing alias",
        aliases=("Taux-De-Clic",),
    )
    with pytest.raises(ConfigError, match=r"'Taux-De-Clic' \(an alias of taux\) clashes with"):
        Catalog([ctr, other])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "Cost Per"}, "name 'Cost Per' is not a simple identifier"),
        ({"name": "1st"}, "name '1st' is not a simple identifier"),
        ({"description": ""}, "description must be one non-empty line"),
        ({"aliases": ("two words",)}, "alias 'two words' must be one word"),
        ({"min_volume": -1.0}, "min_volume must be a number ≥ 0, not -1.0"),
        ({"formula": parse("reach + clicks")}, "formula uses reach, which cannot be summed"),
    ],
)
def test_kpi_invariants_hold_for_code_too(fields: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "name": "custom",
        "description": "A custom sum",
        "unit": Unit.COUNT,
        "formula": parse("clicks"),
        **fields,
    }
    with pytest.raises(ConfigError, match=message):
        SumKpi(**arguments)  # type: ignore[arg-type]


def test_without_a_file_the_catalog_is_the_builtins() -> None:
    assert load_catalog(None) is BUILTIN


def test_custom_kpis_and_overrides() -> None:
    catalog = load_catalog(FIXTURES / "custom.toml")
    assert catalog.names() == (
        *BUILTIN.names(),
        "cost_per_engagement",
        "video_cpm",
        "paid_interactions",
    )
    cpe = catalog["CPE"]
    assert isinstance(cpe, RatioKpi)
    assert catalog["cout-par-engagement"] is cpe
    assert (cpe.name, cpe.unit, cpe.direction, cpe.min_volume) == (
        "cost_per_engagement",
        Unit.CURRENCY,
        Direction.LOWER,
        50,
    )
    assert cpe.value(SUMS) == pytest.approx(250 / 400)
    video_cpm = catalog["video_cpm"]
    assert isinstance(video_cpm, RatioKpi)
    assert video_cpm.value(SUMS) == pytest.approx(62.5)
    paid = catalog["paid_interactions"]
    assert isinstance(paid, SumKpi) and paid.value(SUMS) == 148
    assert paid.direction is Direction.HIGHER and paid.min_volume == 0

    ctr = catalog["tdc"]
    assert ctr.name == "ctr" and ctr.min_volume == 500
    assert ctr.aliases == (*BUILTIN["ctr"].aliases, "tdc")  # added, the built-in ones stay
    assert catalog["taux-de-clic"] is ctr
    spend = catalog["spend"]
    assert (spend.direction, spend.description) == (Direction.LOWER, "Media spend")
    assert BUILTIN["spend"].direction is Direction.NEUTRAL  # the built-ins are untouched


def test_the_documented_schema_loads(tmp_path: Path) -> None:
    docstring = inspect.getdoc(kpi.catalog) or ""
    example = docstring.split("one table per KPI::", 1)[1].split("\n\nFormulas use", 1)[0]
    path = tmp_path / "kpis.toml"
    path.write_text(textwrap.dedent(example), encoding="utf-8")
    catalog = load_catalog(path)
    assert catalog["cpe"].name == "cost_per_engagement"
    assert catalog["paid_interactions"].unit is Unit.COUNT
    assert catalog["ctr"].min_volume == 500


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        (
            "unknown_measure.toml",
            "[kpi.cost_per_engagement] denominator: unknown measure: 'likess' at column 1 "
            "of 'likess + comments'; did you mean likes?",
        ),
        (
            "non_additive.toml",
            "[kpi.frequency] denominator uses reach, which cannot be summed",
        ),
        (
            "alias_clash.toml",
            "'Coût_Par_Clic' (an alias of cost_per_engagement) clashes with "
            "'coût-par-clic' (an alias of cpc); rename one of them",
        ),
    ],
)
def test_fixture_errors_name_the_file_the_kpi_and_the_fix(fixture: str, message: str) -> None:
    path = FIXTURES / fixture
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


NEW = 'description = "Spend per engagement"\nunit = "currency"\n'
RATIO = 'numerator = "spend"\ndenominator = "likes"\n'


# One case per message, each on two lines: a table reads better than one argument per line.
# fmt: off
ERRORS: list[tuple[str, str]] = [
    (f"[kpi.cpe]\n{NEW}{RATIO}colour = 'red'",
     "[kpi.cpe] unknown field 'colour'; fields are: description, unit, better"),
    (f"[kpi.cpe]\n{NEW}{RATIO}descripton = 'x'",
     "[kpi.cpe] unknown field 'descripton'; did you mean description?"),
    (f"[kpi.cpe]\n{RATIO}description = 'x'\nunit = 'euros'",
     "[kpi.cpe] unit: must be one of count, percent, currency, ratio, not 'euros'"),
    (f"[kpi.cpe]\n{NEW}{RATIO}better = 'up'",
     "[kpi.cpe] better: must be one of higher, lower, neutral, not 'up'"),
    (f"[kpi.cpe]\n{NEW}numerator = 'spend'\ndenominator = 'likes +'",
     "[kpi.cpe] denominator: expected a number, a measure or '(': the end of the formula"),
    (f"[kpi.cpe]\n{NEW}numerator = 'followers'\ndenominator = 'likes'",
     "[kpi.cpe] numerator uses followers, which cannot be summed"),
    (f"[kpi.reach_sum]\n{NEW}formula = 'reach + users'",
     "[kpi.reach_sum] formula uses reach, users, which cannot be summed"),
    (f"[kpi.cpe]\n{NEW}{RATIO}aliases = ['cpc']",
     "'cpc' (an alias of cpe) clashes with 'cpc' (the name of cpc); rename one of them"),
    (f"[kpi.clics]\n{NEW}formula = 'clicks'",
     "'clics' (an alias of clicks) clashes with 'clics' (the name of clics)"),
    ("[kpi.ctr]\naliases = ['CPM']",
     "'CPM' (an alias of ctr) clashes with 'cpm' (the name of cpm)"),
    (f"[kpi.cpe]\n{NEW}{RATIO}aliases = 'cpe'",
     "[kpi.cpe] aliases: must be a list of strings, not 'cpe'"),
    (f"[kpi.cpe]\n{NEW}{RATIO}aliases = ['cost per engagement']",
     "[kpi.cpe] alias 'cost per engagement' must be one word, without spaces"),
    (f"[kpi.cpe]\n{NEW}{RATIO}min_volume = -5",
     "[kpi.cpe] min_volume must be a number ≥ 0, not -5.0"),
    (f"[kpi.cpe]\n{NEW}{RATIO}min_volume = 'lots'",
     "[kpi.cpe] min_volume: must be a number, not 'lots'"),
    (f"[kpi.cpe]\n{NEW}{RATIO}min_volume = true",
     "[kpi.cpe] min_volume: must be a number, not True"),
    (f"[kpi.cpe]\n{NEW}{RATIO}min_volume = nan",
     "[kpi.cpe] min_volume must be a number ≥ 0, not nan"),
    (f"[kpi.cpe]\n{NEW}{RATIO}scale = 0",
     "[kpi.cpe] scale must be a number > 0, not 0.0"),
    (f'[kpi."Cost Per"]\n{NEW}{RATIO}',
     "[kpi.Cost Per] name 'Cost Per' is not a simple identifier: use up to 40 lowercase"),
    (f"[kpi.engagement-rate]\n{NEW}{RATIO}",
     "[kpi.engagement-rate] name 'engagement-rate' is not a simple identifier"),
    (f"[kpi.cpe]\n{RATIO}", "[kpi.cpe] a new KPI needs description and unit"),
    (f"[kpi.cpe]\n{RATIO}unit = 'count'", "[kpi.cpe] a new KPI needs description"),
    (f"[kpi.cpe]\n{NEW}numerator = 'spend'",
     "[kpi.cpe] set formula (a sum), or numerator and denominator (a ratio)"),
    (f"[kpi.cpe]\n{NEW}{RATIO}formula = 'spend'",
     "[kpi.cpe] formula (a sum) cannot be combined with denominator, numerator (a ratio)"),
    (f"[kpi.cpe]\n{NEW}formula = 'spend'\nscale = 100",
     "[kpi.cpe] formula (a sum) cannot be combined with scale (a ratio)"),
    ("[kpi.cpe]\ndescription = 5\nunit = 'count'\nformula = 'clicks'",
     "[kpi.cpe] description: must be a string, not 5"),
    ('[kpi.cpe]\ndescription = """two\nlines"""\nunit = "count"\nformula = "clicks"',
     "[kpi.cpe] description must be one non-empty line"),
    ("[kpi.ctr]\nformula = 'clicks'",
     "[kpi.ctr] formula cannot be set on the built-in ctr; "
     "set numerator, denominator, scale instead"),
    ("[kpi.clicks]\nnumerator = 'clicks'",
     "[kpi.clicks] numerator cannot be set on the built-in clicks; set formula instead"),
    ("[kpi.reach]\nformula = 'impressions'",
     "[kpi.reach] formula cannot be set on the built-in reach; its computation is fixed"),
    ("[kpi]\nctr = 5", "[kpi.ctr] must be a table of fields, not 5"),
    ("kpi = 5", "kpi must be a table of [kpi.<name>] tables"),
    ("[kpis.cpe]\nunit = 'count'", "unknown table or key 'kpis'; define KPIs as [kpi.<name>]"),
    ("[kpi.cpe\n", "not valid TOML"),
]
# fmt: on


@pytest.mark.parametrize(("toml", "message"), ERRORS)
def test_every_error_names_the_file_the_kpi_and_the_fix(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "kpis.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read the KPI file"):
        load_catalog(missing)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[kpi.ctr]\ndescription = "Taux de clic é"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.toml: not valid TOML"):
        load_catalog(latin1)
