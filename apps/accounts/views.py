"""Account pages: password change, profile, API tokens, notifications and user management."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from knox.models import AuthToken

from apps.audit.services import audit_append

from . import selectors, services
from .choices import Role
from .duties_registry import open_duties
from .forms import (
    DeactivateForm,
    ProfileForm,
    RegionsForm,
    ServiceAccountForm,
    TokenCreateForm,
    apply_service_errors,
)

NEW_TOKEN_SESSION_KEY = "accounts.new_token"
PAGE_SIZE = 50


def admin_required(view):
    """Signed in (else to the sign-in page) and in the admin role (else 403, audited)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.has_role(Role.ADMIN):
            audit_append(action="page.denied", actor=request.user, data={"path": request.path[:300]})
            raise PermissionDenied("Only administrators manage users.")
        return view(request, *args, **kwargs)

    return wrapper


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, with the change written through an audited service."""

    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        user = services.password_change(user=form.user, by=self.request.user,
                                        new_password=form.cleaned_data["new_password1"])
        update_session_auth_hash(self.request, user)
        return redirect(self.get_success_url())


def _token_rows(tokens) -> list[dict]:
    return [
        {"token_key": t.token_key, "name": selectors.token_name(t), "created": t.created, "expiry": t.expiry,
         "expired": selectors.token_is_expired(t)}
        for t in tokens
    ]


def _remember_secret(request, *, secret: str, name: str, account, back: str) -> None:
    # kept in the session only until the next page shows it once
    request.session[NEW_TOKEN_SESSION_KEY] = {"secret": secret, "name": name, "account": account.username,
                                              "back": back}


@login_required
def profile(request):
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.profile_update(user=user, by=user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Your profile was saved.")
                return redirect("accounts:profile")
    else:
        form = ProfileForm(initial=ProfileForm.initial_for(user))
    return render(request, "accounts/profile.html", {
        "form": form,
        "token_form": TokenCreateForm(),
        "tokens": _token_rows(selectors.token_list(user=user)),
        "teams": list(user.teams.all()),
        "roles": [Role(r).label for r in sorted(user.role_names) if r in Role.values],
    })


@login_required
def token_create(request):
    user = request.user
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, secret = services.token_create(user=user, by=user, name=form.cleaned_data["name"],
                                                   expires_in_days=form.cleaned_data["expires_in_days"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            _remember_secret(request, secret=secret, name=form.cleaned_data["name"], account=user,
                             back=reverse("accounts:profile"))
            return redirect("accounts:token-created")
    return render(request, "accounts/token_form.html", {"form": form, "account": user,
                                                        "action": reverse("accounts:token-create"),
                                                        "back": reverse("accounts:profile")})


@never_cache
@login_required
def token_created(request):
    """Shows a new token's secret exactly once, then forgets it."""
    shown = request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    if not shown:
        messages.info(request, "A token's secret is shown only once, right after it is created.")
        return redirect("accounts:profile")
    return render(request, "accounts/token_created.html", {"shown": shown})


@require_POST
@login_required
def token_revoke(request, token_key: str):
    token = AuthToken.objects.filter(user=request.user, token_key=token_key).select_related("info").first()
    if token is None:
        raise Http404("No such token.")
    services.token_revoke(token=token, by=request.user)
    messages.success(request, f"The token {token_key}… was revoked; it no longer works.")
    return redirect("accounts:profile")


@login_required
def notifications(request):
    if request.method == "POST":
        count = services.notification_mark_all_read(user=request.user)
        messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
        return redirect("accounts:notifications")
    rows = selectors.notification_list(user=request.user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = sum(1 for n in page if n.read_at is None)
    return render(request, "accounts/notifications.html", {"page": page, "unread": unread})


# --- user management (admins) ----------------------------------------------------------------------


@admin_required
def user_list(request):
    q = request.GET.get("q", "")[:200]
    page = Paginator(selectors.user_list(q=q), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/user_list.html", {"page": page, "q": q})


def _user_detail(request, account, *, deactivate_form=None, token_form=None, regions_form=None, status=200):
    is_service = account.is_service_account
    return render(request, "accounts/user_detail.html", {
        "regions_form": regions_form or RegionsForm(initial={"regions": ", ".join(
            r for r in account.regions.split(",") if r)}),
        "account_regions": [r for r in account.regions.split(",") if r],
        "account": account,
        "roles": [Role(r).label for r in sorted(account.role_names) if r in Role.values],
        "duties": open_duties(account),
        "deactivate_form": deactivate_form or DeactivateForm(),
        "token_form": token_form or (TokenCreateForm() if is_service else None),
        "tokens": _token_rows(selectors.token_list(user=account)) if is_service else [],
    }, status=status)


@admin_required
def user_detail(request, username: str):
    account = selectors.user_get(username)
    if request.method == "POST":  # the only form posted here: the regions the person is limited to
        form = RegionsForm(request.POST)
        if form.is_valid():
            try:
                services.user_regions_set(user=account, by=request.user, regions=form.cleaned_data["regions"])
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                regions = form.cleaned_data["regions"]
                messages.success(request, f"{account.username} now sees only the regions {', '.join(regions)}."
                                 if regions else f"{account.username} is no longer limited to regions.")
                return redirect("accounts:user-detail", username=account.username)
        return _user_detail(request, account, regions_form=form, status=400)
    return _user_detail(request, account)


@require_POST
@admin_required
def user_deactivate(request, username: str):
    account = selectors.user_get(username)
    form = DeactivateForm(request.POST)
    if form.is_valid():
        try:
            pending = services.user_deactivate(user=account, by=request.user,
                                               reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            text = f"{account.username} is deactivated and their API tokens are revoked."
            if pending:
                n = len(pending)
                text += f" {n} open dut{'y needs' if n == 1 else 'ies need'} a new holder: see below."
            messages.success(request, text)
            return redirect("accounts:user-detail", username=account.username)
    return _user_detail(request, account, deactivate_form=form)


@require_POST
@admin_required
def user_reactivate(request, username: str):
    account = selectors.user_get(username)
    if account.is_active:
        messages.info(request, f"{account.username} is already active.")
    else:
        services.user_reactivate(user=account, by=request.user)
        messages.success(request, f"{account.username} is active again.")
    return redirect("accounts:user-detail", username=account.username)


@admin_required
def service_account_create(request):
    form = ServiceAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.service_account_create(
                username=form.cleaned_data["username"], team=form.cleaned_data["team"],
                roles=form.cleaned_data["roles"], by=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Service account {account.username} created. "
                                      "Create its first API token below.")
            return redirect("accounts:user-detail", username=account.username)
    return render(request, "accounts/service_account_form.html", {"form": form})


def _service_account(username: str):
    account = selectors.user_get(username)
    if not account.is_service_account:
        raise Http404("Tokens are managed here only for service accounts.")
    return account


@require_POST
@admin_required
def user_token_create(request, username: str):
    account = _service_account(username)
    form = TokenCreateForm(request.POST)
    if form.is_valid():
        try:
            _token, secret = services.token_create(
                user=account, by=request.user, name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            back = reverse("accounts:user-detail", args=[account.username])
            _remember_secret(request, secret=secret, name=form.cleaned_data["name"], account=account,
                             back=back)
            return redirect("accounts:token-created")
    return _user_detail(request, account, token_form=form)


@require_POST
@admin_required
def user_token_revoke(request, username: str, token_key: str):
    account = _service_account(username)
    token = AuthToken.objects.filter(user=account, token_key=token_key).select_related("info", "user").first()
    if token is None:
        raise Http404("No such token.")
    services.token_revoke(token=token, by=request.user)
    messages.success(request, f"The token {token_key}… of {account.username} was revoked.")
    return redirect("accounts:user-detail", username=account.username)
