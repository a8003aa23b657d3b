"""Citizens: /dangky (topics, then optionally their commune), /huydangky, /khauhieu.

Nobody is subscribed without choosing it: /start offers a button, /dangky asks which news. How to stop is
always one line away: every broadcast ends with "Gõ /huydangky…" (and a button where the channel has them).
"""
from __future__ import annotations

from bot.features.broadcasts import parsing
from bot.features.broadcasts import service as bc
from bot.features.broadcasts import texts as T
from bot.features.broadcasts.service import SUB_CB
from bot.kernel.callbacks import CallbackPrefix
from bot.kernel.channel import caps_of
from bot.kernel.jobs import LOCAL_TZ
from bot.kernel.messages import Button, clip
from bot.kernel.registry import Ctx, callback, command, menu_item, step, text_handler
from knowledge.normalize import fold

SLOGAN_CB = CallbackPrefix("slogan")  # slogan:<id>

COMMUNE_STEP = "sub.commune"


def _private(ctx: Ctx) -> bool:
    if not caps_of(ctx.inbound.channel).broadcasts:  # the web chat: subscriptions stay on Zalo and Telegram
        ctx.reply(T.SUB_ELSEWHERE)
        return False
    if ctx.inbound.chat_type != "private":
        ctx.reply(T.SUB_PRIVATE_ONLY)
        return False
    return True


def describe(ctx: Ctx, keys: list[str], commune_code: str | None) -> tuple[str, str]:
    labels = parsing.topics(ctx.settings)
    names = [labels[k] for k in keys if k in labels] or [T.BTN_SUB_ALL]
    commune = parsing.commune_name(commune_code)
    return ", ".join(names), (T.SUB_COMMUNE_PART.format(name=commune) if commune else "")


@command("dangky", aliases=("dang ky nhan tin", "dang ky nhan thong bao", "nhan tin tuc"), description=T.CMD_SUBSCRIBE)
def subscribe_command(ctx: Ctx) -> None:
    if _private(ctx):
        offer_topics(ctx)


# The help tells Zalo users to type "dang ky" (bot.dang-ky-tin, bot.cac-lenh, ag.kh328-kenh-hai-chieu). As an alias
# it would also take "đăng ký OCOP ở đâu" (aliases match a prefix), so these words count only as the whole message.
EXACT_WORDS = {"dang ky": "dangky", "dangky": "dangky", "huydangky": "huydangky"}


@text_handler(40)
def subscribe_in_plain_words(ctx: Ctx) -> bool:
    name = EXACT_WORDS.get(" ".join(fold(ctx.inbound.text or "").strip(" .!?").split()))
    if name is None:
        return False
    (subscribe_command if name == "dangky" else unsubscribe_command)(ctx)
    return True


def offer_topics(ctx: Ctx) -> None:
    labels = parsing.topics(ctx.settings)
    buttons = [Button(T.BTN_SUB_ALL, SUB_CB.pack("t", "*"))] + [Button(clip(T.BTN_SUB_ONLY.format(label=v)), SUB_CB.pack("t", k)) for k, v in labels.items()]
    sub = bc.get_subscription(ctx.session, ctx.inbound.channel, ctx.inbound.chat_id)
    if sub is not None and sub.active:
        names, commune = describe(ctx, bc.topic_keys(sub), sub.commune_code)
        ctx.reply(T.SUB_ASK_TOPICS_AGAIN.format(topics=names, commune=commune), buttons=buttons + [Button(T.BTN_UNSUBSCRIBE, SUB_CB.pack("off"))])
    else:
        ctx.reply(T.SUB_ASK_TOPICS, buttons=buttons)


@command("huydangky", aliases=("huy dang ky", "ngung nhan tin", "dung nhan tin", "huy nhan tin", "thoi nhan tin"),
         description=T.CMD_UNSUBSCRIBE, interrupts=True)
def unsubscribe_command(ctx: Ctx) -> None:
    if ctx.state == COMMUNE_STEP:
        ctx.clear_state()
    if bc.unsubscribe(ctx.session, ctx.inbound.channel, ctx.inbound.chat_id, ctx.now):
        ctx.audit("unsubscribe", target=ctx.inbound.channel)
        ctx.reply(T.UNSUB_DONE)
    else:
        ctx.reply(T.UNSUB_NOT_SUBSCRIBED)


@callback(SUB_CB)
def subscription_button(ctx: Ctx) -> None:
    cb = ctx.callback_data  # sub:off|start|skip | sub:t:<topics> | sub:x:<commune>
    action = cb.arg(0)
    if action == "off":
        unsubscribe_command(ctx)
        return
    if not _private(ctx):
        return
    if action == "start":
        offer_topics(ctx)
    elif action == "t" and len(cb.args) == 2:
        choose_topics(ctx, cb.arg(1))
    elif action == "x" and len(cb.args) == 2 and parsing.commune_name(cb.arg(1)):
        set_commune(ctx, cb.arg(1))
    elif action == "skip":
        ctx.clear_state()
        done(ctx)
    else:
        from bot.kernel import texts

        ctx.reply(texts.STALE_BUTTON)


def choose_topics(ctx: Ctx, key: str) -> None:
    labels = parsing.topics(ctx.settings)
    if key == "*":
        keys = list(labels)
    elif key in labels:
        keys = [key]
    else:
        from bot.kernel import texts

        ctx.reply(texts.STALE_BUTTON)
        return
    bc.subscribe(ctx.session, ctx.inbound.channel, ctx.inbound.chat_id, keys, ctx.now)
    ctx.audit("subscribe", target=ctx.inbound.channel, detail=",".join(keys))
    if ctx.settings.broadcast_commune_topic in keys:
        ctx.set_state(COMMUNE_STEP, {"tries": 0})
        ctx.reply(T.SUB_ASK_COMMUNE, buttons=[Button(T.BTN_SKIP, SUB_CB.pack("skip"))])
    else:
        done(ctx)


def set_commune(ctx: Ctx, code: str) -> None:
    sub = bc.get_subscription(ctx.session, ctx.inbound.channel, ctx.inbound.chat_id)
    ctx.clear_state()
    if sub is None or not sub.active:
        offer_topics(ctx)
        return
    sub.commune_code = code
    sub.updated_at = ctx.now
    ctx.session.add(sub)
    done(ctx)


def done(ctx: Ctx) -> None:
    sub = bc.get_subscription(ctx.session, ctx.inbound.channel, ctx.inbound.chat_id)
    if sub is None or not sub.active:
        ctx.reply(T.UNSUB_NOT_SUBSCRIBED)
        return
    names, commune = describe(ctx, bc.topic_keys(sub), sub.commune_code)
    ctx.reply(T.SUB_DONE.format(topics=names, commune=commune))


@step(COMMUNE_STEP)
def commune_step(ctx: Ctx) -> None:
    text = ctx.inbound.text.strip()
    if not text:  # a sticker, a photo: ask again
        ctx.reply(T.SUB_ASK_COMMUNE, buttons=[Button(T.BTN_SKIP, SUB_CB.pack("skip"))])
        return
    sure, places = parsing.find_commune(text)
    if sure:
        set_commune(ctx, places[0].code)
        return
    tries = int(ctx.data.get("tries", 0)) + 1
    if "?" in text or len(text.split()) > 6 or tries > 2:
        # Not a place name: a question. Leave the commune out and answer it.
        ctx.clear_state()
        for _, fn in ctx.registry.text_handlers:
            if fn(ctx):
                return
        return
    if places:
        ctx.update_data(tries=tries)
        ctx.reply(T.SUB_COMMUNE_CHOOSE, buttons=[Button(clip(p.label), SUB_CB.pack("x", p.code)) for p in places] + [Button(T.BTN_SKIP, SUB_CB.pack("skip"))])
        return
    ctx.update_data(tries=tries)
    ctx.reply(T.SUB_COMMUNE_NONE.format(text=text[:60]), buttons=[Button(T.BTN_SKIP, SUB_CB.pack("skip"))])


@menu_item(50)
def _menu_subscribe(ctx: Ctx) -> Button | None:
    """First contact: offer the news, never subscribe silently."""
    if ctx.inbound.chat_type != "private":
        return None
    sub = bc.get_subscription(ctx.session, ctx.inbound.channel, ctx.inbound.chat_id)
    return None if sub is not None and sub.active else Button(T.BTN_MENU_SUBSCRIBE, SUB_CB.pack("start"))


# ------------------------------------------------------------------ slogans
@command("khauhieu", aliases=("khau hieu", "khau hieu nong thon moi"), description=T.CMD_SLOGAN)
def slogan_command(ctx: Ctx) -> None:
    from knowledge.slogans import SloganError, library

    try:
        slogan = library().of_week(ctx.now.astimezone(LOCAL_TZ).date())
    except SloganError:
        ctx.reply(T.SLOGAN_UNAVAILABLE)
        return
    ctx.reply(slogan.render(), buttons=[Button(T.BTN_NEXT_SLOGAN, SLOGAN_CB.pack(slogan.id))])


@callback(SLOGAN_CB)
def next_slogan(ctx: Ctx) -> None:
    from knowledge.slogans import SloganError, library

    current = ctx.callback_data.rest(0)
    try:
        slogan = library().after(current)
    except SloganError:
        ctx.reply(T.SLOGAN_UNAVAILABLE)
        return
    ctx.reply(slogan.render(), buttons=[Button(T.BTN_NEXT_SLOGAN, SLOGAN_CB.pack(slogan.id))])
