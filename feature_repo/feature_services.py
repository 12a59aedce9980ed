"""Feature services: the one list of features a model trains and serves on."""

from feast import FeatureService
from feature_views import application_features, credit_history, zipcode_features

credit_model_v1 = FeatureService(
    name="credit_model_v1",
    features=[application_features, zipcode_features, credit_history],
    description="Credit default model: application, zipcode and credit history features",
)
