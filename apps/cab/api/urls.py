from django.urls import path

from . import views

urlpatterns = [
    path("auth/step-up/", views.StepUpView.as_view(), name="auth-step-up"),
    path("gate/", views.GateView.as_view(), name="deployment-gate"),
    path("cab/policies/", views.PolicyListView.as_view(), name="cab-policies"),
    path("cab/policies/<int:pk>/", views.PolicyDetailView.as_view(), name="cab-policy"),
    path("cab/templates/", views.TemplateListView.as_view(), name="cab-templates"),
    path("cab/templates/<int:pk>/", views.TemplateDetailView.as_view(), name="cab-template"),
    path("cab/templates/<int:pk>/approve/", views.TemplateApproveView.as_view(), name="cab-template-approve"),
    path("cab/templates/<int:pk>/retire/", views.TemplateRetireView.as_view(), name="cab-template-retire"),
    path("cab/reviews/", views.ReviewListView.as_view(), name="cab-reviews"),
    path("cab/reviews/<int:pk>/", views.ReviewDetailView.as_view(), name="cab-review"),
    path("cab/reviews/<int:pk>/votes/", views.VoteView.as_view(), name="cab-votes"),
    path("cab/reviews/<int:pk>/retrospective/", views.RetrospectiveView.as_view(), name="cab-retrospective"),
    path("cab/requests/<str:reference>/conditions/", views.ConditionListView.as_view(), name="cab-conditions"),
    path("cab/conditions/<int:pk>/acknowledge/", views.ConditionAcknowledgeView.as_view(),
         name="cab-condition-acknowledge"),
    path("cab/delegations/", views.DelegationListView.as_view(), name="cab-delegations"),
    path("cab/delegations/<int:pk>/end/", views.DelegationEndView.as_view(), name="cab-delegation-end"),
]
