import Foundation
import Hummingbird

/// JSON bodies as the Flask backend's `jsonify` wrote them: keys sorted, compact, one trailing
/// newline, `Content-Type: application/json`.
func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
    var data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    data.append(0x0A)
    return Response(status: status, headers: [.contentType: "application/json"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
