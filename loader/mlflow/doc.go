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
// Keras v3 (.keras) and HDF5 (.h5) files are reported as not SavedModels.
//
// The tracking server comes from MLFLOW_TRACKING_URI (http(s)://host, or
// databricks with DATABRICKS_HOST); credentials from MLFLOW_TRACKING_TOKEN or
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
// Wiring without global state: package source knows nothing of this package;
// pass WithRegistry(opts, cfg) (or set opts.Openers["models"] = Open) to
// source.Open.
package mlflow
