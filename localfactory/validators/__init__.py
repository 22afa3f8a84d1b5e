"""Validators apart from the generator: judges, code scrutiny, user testing, risk gates, review.

- :mod:`.judge`: a small model checks one criterion twice (swapped, rephrased); only an
  agreeing pair decides, the rest is escalated or left to a human. It never judges its own
  role's text (:mod:`.asking`).
- :mod:`.scrutiny`: checks, static review (:mod:`.static_review`), trajectory and a judge's
  code review against the spec, as feedback for the repair loop.
- :mod:`.user_testing`: a black box judging what users see, from the scenarios' ``judge:``
  criteria.
- :mod:`.risk` and :mod:`.review`: risk scores, held changes, approvals and rejections, and
  rejections handed to the next run as feedback.
- :mod:`.stage`: what the factory's engine calls. :mod:`.bench`: the calibration bench.

Nothing here imports a model library at import time.
"""

from localfactory.validators.asking import NotIndependent, Provenance
from localfactory.validators.judge import Judge, Question
from localfactory.validators.review import pending_feedback, take_feedback
from localfactory.validators.risk import RiskAssessment, assess
from localfactory.validators.verdict import Judgement, JudgeVerdict, ValidatorVerdict

__all__ = [
    "Judge",
    "JudgeVerdict",
    "Judgement",
    "NotIndependent",
    "Provenance",
    "Question",
    "RiskAssessment",
    "ValidatorVerdict",
    "assess",
    "pending_feedback",
    "take_feedback",
]
