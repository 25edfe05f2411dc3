"""Statistics over a results table: lr selection, summaries with small-n intervals, seed-paired
verdicts with a multiplicity correction, power, and comparisons across tasks.

The input is the results store's DataFrame (``gatelab.results.load``): one row per run with the
columns task, activation, seed, lr, status, the flattened metrics (val_accuracy, test_accuracy,
val_mse, test_mse, …) and each record's objective (metric, val_metric, higher_is_better). Every
function first chooses one learning rate per (task, activation, *extra_axes) on the validation
metric, as the GELU paper does (Hendrycks & Gimpel, arXiv:1606.08415 §3: "learning rate …
chosen on validation", "median of 5 runs"), then reports the *test* metric at that lr:

- :func:`select_lr` — the lr with the best median validation metric (:mod:`.frame`);
- :func:`summarize` — n, mean ± std with Student's t-interval, median with its distribution-free
  order-statistic interval (:mod:`.intervals`, :mod:`.summary`);
- :func:`paired_comparison` — seed-paired differences against a baseline with their t-interval,
  the paired t-test Holm-adjusted across the task's comparisons, the verdict better / worse /
  no evidence, Wilcoxon's test with the smallest p it can reach, Cohen's d_z and the seeds
  needed for 80 % power (:mod:`.paired`);
- :func:`deficit` — the GEM paper's "deficit vs GELU" (Krause, arXiv:2604.21677, abstract);
- :func:`ranks` — ranks per task and the mean rank across tasks (Demšar 2006, JMLR 7 §3.2.2);
- :mod:`.across` — IQM and probability of improvement with stratified-bootstrap CIs (Agarwal et
  al., NeurIPS 2021), the Friedman test with Nemenyi's critical difference (Demšar 2006);
- :func:`leaderboard` — the display table built from the above.

Activation strings are matched after canonicalisation (``"gelu"`` = ``"gelu()"``,
``"e_gem(eps=1e-4)"`` = ``"e_gem"``); the first spelling met is kept for display. Needs the
``report`` extra (pandas, scipy); nothing here is imported by ``import gatelab``.
"""

from .frame import DIVERGED, FAILED, OK, canonical, objective, select_lr
from .intervals import median_interval, median_interval_min_n, t_interval
from .leaderboard import leaderboard
from .paired import holm, paired_t_power, paired_tests, seeds_needed, verdict, wilcoxon_floor
from .summary import TEST, deficit, paired_comparison, ranks, run_scores, summarize

__all__ = [
    "DIVERGED",
    "FAILED",
    "OK",
    "TEST",
    "canonical",
    "deficit",
    "holm",
    "leaderboard",
    "median_interval",
    "median_interval_min_n",
    "objective",
    "paired_comparison",
    "paired_t_power",
    "paired_tests",
    "ranks",
    "run_scores",
    "seeds_needed",
    "select_lr",
    "summarize",
    "t_interval",
    "verdict",
    "wilcoxon_floor",
]
