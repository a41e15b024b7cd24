/** The Sluice Kubernetes operator (work in progress: see operator/README.md once written). */
export {};
