import factory
from django.contrib.auth.models import Group

from apps.accounts.models import Team, User
from apps.inventory.models import Component, Dependency, Endpoint, Environment, System

# the demo's published password: the seed hooks that sign (CAB votes, validations) use it for the
# test personas exactly as for the demo users
from apps.core.seed.data import PASSWORD  # noqa: E402


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.teams.add(*extracted)
        if create:
            self.save()


class EnvironmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Environment
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Env {n}")
    slug = factory.Sequence(lambda n: f"env-{n}")
    kind = "production"


class SystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = System

    name = factory.Sequence(lambda n: f"System {n}")
    slug = factory.Sequence(lambda n: f"system-{n}")
    owner_team = factory.SubFactory(TeamFactory)
    criticality = "high"
    region = "eu-central"


class ComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Component

    system = factory.SubFactory(SystemFactory)
    environment = factory.SubFactory(EnvironmentFactory, slug="production", name="Production", kind="production")
    name = factory.Sequence(lambda n: f"component-{n}")
    product = "postgresql"
    version = "13.14"


class DependencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dependency

    source_system = factory.SubFactory(SystemFactory)
    target_system = factory.SubFactory(SystemFactory)
    constraint = ">=13 <17"
    constraint_kind = "semver"


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Endpoint

    system = factory.SubFactory(SystemFactory)
    environment = factory.SubFactory(EnvironmentFactory, slug="production", name="Production", kind="production")
    name = factory.Sequence(lambda n: f"endpoint-{n}")
    kind = "http"
    target = "https://127.0.0.1/health"
