-- The load tool's application table (-scenario app): every tenant gets it
-- through the application's own migration set, seeded with appItems rows.
-- +goose Up
CREATE TABLE items (
    id    BIGINT UNSIGNED NOT NULL,
    title VARCHAR(200)    NOT NULL,
    body  TEXT            NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO items (id, title, body) VALUES
    (1, 'item 1', 'the first item of the load test'),
    (2, 'item 2', 'the second item of the load test'),
    (3, 'item 3', 'the third item of the load test'),
    (4, 'item 4', 'the fourth item of the load test'),
    (5, 'item 5', 'the fifth item of the load test'),
    (6, 'item 6', 'the sixth item of the load test'),
    (7, 'item 7', 'the seventh item of the load test'),
    (8, 'item 8', 'the eighth item of the load test'),
    (9, 'item 9', 'the ninth item of the load test'),
    (10, 'item 10', 'the tenth item of the load test');

-- +goose Down
DROP TABLE items;
