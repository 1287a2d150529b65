// Package mlflow resolves MLflow Model Registry URIs (models:/name/3,
// models:/name/latest, models:/name/Production, models:/name@alias) to local
// SavedModel directories.
//
// A registry URI is served as a base path with a single version: the MLflow
// version number the URI resolves to now. Versions asks the registry again on
// every call, so a stage transition or alias move appears as a new version
// and the model manager swaps to it. Fetch downloads that version's artifacts
// into the cache (atomically, see source.Mirror) and returns the SavedModel
// directory the MLmodel file's tensorflow flavor points to: saved_model_dir
// (tfmodel, tf2model) or data/model for Keras models saved in the tf format.
// Keras 3 (.keras) files are served (package loader/keras3); Keras 2 HDF5
// (.h5) files are reported as not servable.
//
// The tracking server comes from MLFLOW_TRACKING_URI (http(s)://host, or
// databricks with DATABRICKS_HOST), the registry from MLFLOW_REGISTRY_URI
// when set (else the tracking URI; unlike MLflow 3, a databricks tracking URI
// alone still means the workspace registry); credentials from MLFLOW_TRACKING_TOKEN or
// DATABRICKS_TOKEN (bearer) or MLFLOW_TRACKING_USERNAME and
// MLFLOW_TRACKING_PASSWORD (basic). They are sent only to the tracking
// server and never logged.
//
// Artifact URIs returned by the registry may be s3:// or gs:// (read through
// loader/source with the standard cloud credentials), local paths,
// mlflow-artifacts:/ (the tracking server's artifact proxy), or runs:/ (resolved
// through runs/get). With a Databricks tracking URI, artifacts are read
// through the workspace registry's signed download URLs.
//
// Unity Catalog: MLFLOW_REGISTRY_URI=databricks-uc (or
// databricks-uc://<profile>) selects the Unity Catalog registry of the
// workspace at DATABRICKS_HOST (or in the profile of the Databricks CLI
// configuration, ~/.databrickscfg or DATABRICKS_CONFIG_FILE; databricks://
// <profile> reads it the same way). Names have three levels:
// models:/catalog.schema.model/3 and models:/catalog.schema.model@alias.
// Unity Catalog has no stages: stage and latest URIs fail with MLflow's own
// messages. Versions and aliases are resolved through
// /api/2.0/mlflow/unity-catalog/model-versions/get and
// registered-models/alias; a fetch asks
// model-versions/generate-temporary-credentials (MODEL_VERSION_OPERATION_READ)
// and model-versions/get-download-uri, then reads the s3:// or gs://
// storage location with those temporary credentials only (AWS session
// credentials, renewed a minute before they expire; a GCP OAuth token), never
// the ambient AWS or Google credentials. Azure (abfss:// with a SAS), R2 and
// Databricks default storage (presigned URLs) are refused with a clear error.
// Every registry answer is bounded (1 MiB), must be exactly one JSON object
// with the fields used present and well typed, and each call has a timeout
// (Config.Timeout, 60 s). The token and the temporary credentials are masked
// in every error and never logged.
//
// Wiring without global state: package source knows nothing of this package;
// pass WithRegistry(opts, cfg) (or set opts.Openers["models"] = Open) to
// source.Open.
package mlflow
