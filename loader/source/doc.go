// Package source finds the numbered versions of a model under a base path and
// makes a chosen version available as a local SavedModel directory.
//
// A base path follows TensorFlow Serving's layout: its children are version
// directories whose names parse as integers ("1", "00000123"); other children
// are ignored. Supported base paths:
//
//	/models/half_plus_two            local directory (also file:///models/half_plus_two)
//	s3://bucket/models/half_plus_two Amazon S3 or an S3-compatible store (MinIO), via viant/afsc
//	gs://bucket/models/half_plus_two Google Cloud Storage, via viant/afsc
//	mem://localhost/models/x         viant/afs in-memory storage (tests)
//	https://host/models/x.tar.gz     an archive (tar, tar.gz or zip) of a base path or of one SavedModel
//	models:/name/Production          MLflow registry: only through an Opener, see below
//
// Local base paths are used in place: Fetch returns the version directory
// itself. Remote versions are copied into Options.CacheDir as
// <CacheDir>/<hash of the base path>/<version>: files go to a temporary
// directory beside it, every size is checked against the remote listing, and
// only then is the directory renamed into place, so a partial download is
// never visible. A complete cached copy whose files match the listing is reused.
//
// Credentials come from the standard environment and are never logged:
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION
// (default us-east-1), AWS_PROFILE and the other AWS SDK sources;
// AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL selects a custom S3 endpoint
// (MinIO, gofakes3), which is then addressed path-style. For GCS,
// GOOGLE_APPLICATION_CREDENTIALS or the other Application Default
// Credentials; STORAGE_EMULATOR_HOST (host:port or a URL) selects an emulator,
// which is used without authentication.
//
// HTTP(S): a plain web server cannot list a directory (viant/afs's http backend
// lists a URL as one file), so an http(s) base path must be an archive. If the
// archive (after stripping a single top-level directory) holds numeric
// directories, it is a base path and each is a version; if it holds
// saved_model.pb or saved_model.pbtxt at its root, it is one SavedModel served as
// version 1. The archive is fetched again on each Versions call with
// If-None-Match / If-Modified-Since, so a server that sends ETag or
// Last-Modified costs one small request per poll; publish a new version by
// adding a numbered directory to the archive. User info in the URL is sent as
// basic auth and, like the query string, never logged.
//
// MLflow registry URIs (models:/...) are handled by package loader/mlflow. To
// avoid an import cycle and global registration, Open consults
// Options.Openers, a map from URI scheme to Opener, before its built-in
// schemes; mlflow.WithRegistry (or setting Openers["models"] = mlflow.Open) wires
// the registry in. Without it, Open rejects models:/ URIs with an error that
// says so.
package source
