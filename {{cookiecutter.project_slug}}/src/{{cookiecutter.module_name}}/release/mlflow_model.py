"""The packaged model as an MLflow pyfunc ("models from code": MLflow loads this file, nothing is pickled)."""

import mlflow
import pandas as pd


class PyfuncModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        from {{ cookiecutter.module_name }}.release.artifact import Predictor

        self.predictor = Predictor(context.artifacts["model_dir"]).load()

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from {{ cookiecutter.module_name }}.release.serving import predictions_frame

        return predictions_frame(self.predictor.predict(model_input.to_dict("records")))


mlflow.models.set_model(PyfuncModel())
