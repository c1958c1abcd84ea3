// Package reqmetrics measures the requests of a wire layer: the counts,
// durations and bytes of each operation ([Ops]), the counting
// ResponseWriter that measures a response ([Writer]), and [Register],
// which registers collectors all or none.
package reqmetrics
