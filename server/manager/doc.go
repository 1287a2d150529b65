// Package manager keeps the configured models loaded, the way TensorFlow
// Serving's ServerCore and AspiredVersionsManager do: it polls each model's
// base path for numeric version directories, applies the model's version
// policy (latest{N}, all, specific), loads new versions before unloading old
// ones (TF Serving's AvailabilityPreservingPolicy), resolves version labels,
// reports per-version status, and hands requests a reference-counted Handle
// so that an unload waits for the requests still using that version.
//
// One model's failures (a missing base path, a version that fails to load, a
// panicking loader) never affect another model, and a version that fails to
// load leaves the versions already serving untouched.
package manager
