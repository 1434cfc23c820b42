"""Write the report notebooks (thin: parameters, calls into cs_metrics.reporting.sections, prose).

Run after editing the cell lists below: `python scripts/make_notebooks.py`. Notebooks are written
without outputs or execution counts.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parents[1] / "notebooks"

PARAMS = """# Parameters (papermill overrides these).
# as_of: "YYYY-MM", or None for the latest complete month in the data.
# validation_path: written by `cs-metrics report`; None validates here.
data_dir = "../data/sample"
as_of = None
config_path = None
lang = "ja"
validation_path = None
"""

SETUP = """from IPython.display import HTML, display

from cs_metrics.reporting import sections as S
from cs_metrics.reporting.html import CSS

r = S.prepare(data_dir, as_of, config_path, lang, validation_path)


def show(html: str) -> None:
    display(HTML(html))


def h2(ja: str, en: str) -> None:
    show(f"<h2>{r.t(ja, en)}</h2>")


show(f"<style>{CSS}</style>")"""


def code(src: str, tags: list[str] | None = None):
    c = new_code_cell(src)
    if tags:
        c.metadata["tags"] = tags
    return c


def notebook(title: str, params_extra: str, cells: list) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "cs-metrics",
        "display_name": "cs-metrics (Python 3.11)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    # the title is shown by the header section, in the report's language
    nb.metadata["title"] = title.lstrip("# ")
    nb.cells = [
        code(PARAMS + params_extra, ["parameters"]),
        code(SETUP),
        *cells,
    ]
    return nb


MONTHLY = [
    code('show(S.header(r, r.t("月次KPIレポート", "Monthly KPI report")))'),
    code('h2("ヘッドライン", "Headlines")\nshow(S.headline_tiles(r))'),
    new_markdown_cell(
        "MRR ブリッジ: 期首MRRから新規・復活・アップセル・クロスセルを足し、縮小・解約を引くと期末MRRになります。"
    ),
    code('h2("MRR ブリッジ", "MRR bridge")\nshow(S.bridge_section(r))'),
    code('h2("推移（24か月）", "Trends (24 months)")\nshow(S.trends(r))'),
    code('h2("四半期・年度", "Quarter and fiscal year")\nshow(S.period_views(r))'),
    code(
        'h2("解約理由（直近12か月）", "Churn reasons (last 12 months)")\nshow(S.reasons_section(r))'
    ),
    code('h2("コホート継続率", "Cohort retention")\nshow(S.cohort_section(r))'),
    code('h2("LTV（基本・アップセル・クロスセル）", "LTV by source")\nshow(S.ltv_section(r))'),
    code(
        'h2("ヘルスとセグメント（CSM別）", "Health and segments per CSM")\nshow(S.health_section(r))'
    ),
    code('h2("解約リスク（CSM別・MRR順）", "Risk list per CSM")\nshow(S.risk_section(r))'),
    code('h2("オンボーディング", "Onboarding")\nshow(S.onboarding_section(r))'),
    code('h2("データ品質", "Data quality")\nshow(S.data_quality(r))'),
]

REVIEW = [
    code('show(S.header(r, r.t("チャーン目標レビュー", "Churn-target review")))'),
    new_markdown_cell(
        "2年以内解約率 21% → 10% 以下、NRR 110% 以上に向けて、いまどこにいるか・何が差を埋めるかを見ます。"
    ),
    code('h2("2年以内解約率と目標", "Churn within 24 months vs target")\nshow(S.churn_target(r))'),
    code('h2("どこで解約が起きているか", "Where churn concentrates")\nshow(S.concentration(r))'),
    code(
        'h2("解約理由（施策終了・中止）", "Churn reasons (施策終了・中止)")\nshow(S.reasons_section(r))'
    ),
    code(
        'h2("シナリオ", "What if")\nshow(S.scenarios_section(r, save_campaign_end_pct, onboarding_graduation_target))'
    ),
    code(
        'h2("NRR（直近12か月）と目標", "NRR trailing 12 months vs target")\nshow(S.nrr_target(r))'
    ),
]

EXPLORE = [
    new_markdown_cell(
        "## 探索の出発点 / Exploration\n"
        "1. データを読み込み検証する（`r.ds` がデータセット、`r.validation` が検証結果）\n"
        "2. 指標を計算する（`cs_metrics.metrics.*`）\n"
        "3. セグメントや属性で切る（`by=` に列名や `[account_id, 属性]` のフレーム）"
    ),
    code('show(S.header(r, r.t("探索", "Exploration")))\nshow(S.headline_tiles(r))'),
    code(
        "from cs_metrics.metrics import churn, retention, revenue\n\n"
        'bridge = revenue.mrr_bridge(r.ds, r.as_of, by="product")\nbridge.tail(6)'
    ),
    code(
        'rates_by_industry = retention.monthly_rates(r.ds, r.as_of, by="industry")\n'
        'rates_by_industry.filter(rates_by_industry["month"] == rates_by_industry["month"].max())'
        '.select("industry", "mrr_end", "logo_churn_rate", "nrr", "nrr_trailing_12m")'
    ),
    code(
        "try:\n    from cs_metrics.metrics.segments import segment_frame\n\n"
        "    seg = segment_frame(r.ds, r.as_of)\n"
        '    show(S.concentration(r))\nexcept ImportError as e:\n    print("segments not available:", e)'
    ),
    code('churn.churn_within(r.ds, r.as_of, 24, cohort="fiscal_year")'),
]

if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    nbs = {
        "monthly_kpi": notebook("# 月次KPIレポート / Monthly KPI report", "", MONTHLY),
        "churn_target_review": notebook(
            "# チャーン目標レビュー / Churn-target review",
            "# Scenario levers: share of 施策終了・中止 churn saved; onboarding graduation rate.\n"
            "save_campaign_end_pct = 0.3\n"
            "onboarding_graduation_target = 0.8\n",
            REVIEW,
        ),
        "explore": notebook("# 探索ノートブック / Exploration", "", EXPLORE),
    }
    for name, nb in nbs.items():
        nbformat.write(nb, str(OUT / f"{name}.ipynb"))
        print(OUT / f"{name}.ipynb")
