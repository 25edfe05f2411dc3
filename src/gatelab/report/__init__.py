"""Reports over a results directory: tables, figures and the paper-vs-ours comparison.

``gatelab.report.published`` holds the papers' numbers as data; the statistics live in
:mod:`gatelab.stats`. The submodules need the ``report`` extra (pandas, scipy, matplotlib) and
import it themselves, so importing this package stays cheap.
"""
