"""Tickets (phản ánh): the citizen's report wizard, the citizen's side (status, rating), the officers' side
(inbox, replies, reports, team), and the service under both (lifecycle, calendar, rendering, erasure)."""


def register() -> None:
    from bot.features.faq import answers as faq
    from bot.features.tickets import wizard
    from bot.features.tickets import staff  # noqa: F401  (each module's decorators register its handlers)
    from bot.features.tickets import citizen  # noqa: F401
    from bot.features.tickets import service  # noqa: F401

    # The FAQ's hooks (idempotent): "ask an officer" when unsure, "report this" when a question reads as a complaint.
    if wizard.offer_question_button not in faq.UNSURE_BUTTONS:
        faq.UNSURE_BUTTONS.append(wizard.offer_question_button)
    if wizard.offer_report not in faq.REPORT_OFFER:
        faq.REPORT_OFFER.append(wizard.offer_report)
