"""Tickets (phản ánh): the citizen's report wizard, the citizen's side (status, rating), the officers' side
(inbox, replies, reports, team), and the service under both (lifecycle, calendar, rendering, erasure)."""
from importlib import import_module

# Loaded in this order, which is the order their commands, steps and buttons register in.
MODULES = ("wizard", "staff", "reports", "team", "citizen", "service", "erasure", "outcomes")


def register() -> None:
    for name in MODULES:
        import_module(f"{__name__}.{name}")  # each module's decorators register its handlers

    from bot.features.faq import answers as faq
    from bot.features.tickets import citizen, question, wizard

    # The FAQ's hooks (idempotent): "ask an officer" when unsure, "report this" when a question reads as a complaint,
    # "your reports" under the answer on looking one up.
    if question.offer_question_button not in faq.UNSURE_BUTTONS:
        faq.UNSURE_BUTTONS.append(question.offer_question_button)
    if wizard.offer_report not in faq.REPORT_OFFER:
        faq.REPORT_OFFER.append(wizard.offer_report)
    if citizen.my_reports_button not in faq.ANSWER_BUTTONS:
        faq.ANSWER_BUTTONS.append(citizen.my_reports_button)
